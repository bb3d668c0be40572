namespace JobRuntime.Samples.Fitting.Nuts;

/// <summary>
/// One chain of multinomial NUTS with a diagonal metric (the algorithm of Stan's base_nuts:
/// biased progressive sampling between subtrees, multinomial sampling within them, the
/// generalised no-U-turn criterion checked across merged and neighbouring subtrees), with
/// dual-averaging step-size adaptation and Stan's windowed variance adaptation during warm-up.
/// </summary>
internal sealed class NutsChain
{
    private const double MaxEnergyError = 1000;

    private readonly ILogDensity _target;
    private readonly int _d;
    private readonly Random _rng;
    private readonly int _maxDepth;
    private readonly double[] _invMetric;
    private readonly Point _z;          // the integrator's moving state
    private readonly Point _current;    // the chain's current sample
    private readonly Point _fwdEnd;
    private readonly Point _bckEnd;
    private readonly Point _sample;
    private readonly Point _propose;
    private readonly double[] _rho;
    private readonly double[] _rhoFwd;
    private readonly double[] _rhoBck;
    private readonly double[] _pFwdFwd;
    private readonly double[] _pFwdBck;
    private readonly double[] _pBckFwd;
    private readonly double[] _pBckBck;
    private readonly double[] _sFwdFwd;
    private readonly double[] _sFwdBck;
    private readonly double[] _sBckFwd;
    private readonly double[] _sBckBck;
    private readonly Level[] _levels;
    private bool _divergent;
    private int _leapfrogs;
    private double _sumMetroProb;

    public NutsChain(ILogDensity target, Random rng, int maxDepth, double[] initialInverseMetric)
    {
        _target = target;
        _d = target.Dimension;
        _rng = rng;
        _maxDepth = maxDepth;
        _invMetric = (double[])initialInverseMetric.Clone();
        _z = new Point(_d);
        _current = new Point(_d);
        _fwdEnd = new Point(_d);
        _bckEnd = new Point(_d);
        _sample = new Point(_d);
        _propose = new Point(_d);
        _rho = new double[_d];
        _rhoFwd = new double[_d];
        _rhoBck = new double[_d];
        _pFwdFwd = new double[_d];
        _pFwdBck = new double[_d];
        _pBckFwd = new double[_d];
        _pBckBck = new double[_d];
        _sFwdFwd = new double[_d];
        _sFwdBck = new double[_d];
        _sBckFwd = new double[_d];
        _sBckBck = new double[_d];
        _levels = Enumerable.Range(0, maxDepth + 1).Select(_ => new Level(_d)).ToArray();
    }

    public double StepSize { get; set; } = 1;

    public IReadOnlyList<double> InverseMetric => _invMetric;

    public ReadOnlySpan<double> Position => _current.Q;

    /// <summary>Sets the starting point; false when the density is not finite there.</summary>
    public bool TryStart(ReadOnlySpan<double> position)
    {
        position.CopyTo(_current.Q);
        _current.LogP = _target.LogDensity(_current.Q, _current.G);
        return double.IsFinite(_current.LogP) && Spans.AllFinite(_current.G);
    }

    public void SetInverseMetric(ReadOnlySpan<double> values) => values.CopyTo(_invMetric);

    /// <summary>One NUTS transition from the current sample.</summary>
    public Transition Step()
    {
        _z.CopyFrom(_current);
        for (int i = 0; i < _d; i++)
        {
            _z.P[i] = Normal() / Math.Sqrt(_invMetric[i]);
        }

        double h0 = Hamiltonian(_z);
        _fwdEnd.CopyFrom(_z);
        _bckEnd.CopyFrom(_z);
        _sample.CopyFrom(_z);
        for (int i = 0; i < _d; i++)
        {
            double p = _z.P[i];
            double sharp = _invMetric[i] * p;
            _pFwdFwd[i] = _pFwdBck[i] = _pBckFwd[i] = _pBckBck[i] = p;
            _sFwdFwd[i] = _sFwdBck[i] = _sBckFwd[i] = _sBckBck[i] = sharp;
            _rho[i] = p;
        }

        double logSumWeight = 0;
        _leapfrogs = 0;
        _sumMetroProb = 0;
        _divergent = false;
        int depth = 0;
        while (depth < _maxDepth)
        {
            Array.Clear(_rhoFwd);
            Array.Clear(_rhoBck);
            double logSumWeightSubtree = double.NegativeInfinity;
            bool valid;
            if (_rng.NextDouble() > 0.5)
            {
                // Extend forward: the old trajectory becomes the backward part.
                _z.CopyFrom(_fwdEnd);
                Array.Copy(_rho, _rhoBck, _d);
                Array.Copy(_pFwdFwd, _pBckFwd, _d);
                Array.Copy(_sFwdFwd, _sBckFwd, _d);
                valid = BuildTree(depth, _propose, _sFwdBck, _sFwdFwd, _rhoFwd, _pFwdBck, _pFwdFwd, h0, 1, ref logSumWeightSubtree);
                _fwdEnd.CopyFrom(_z);
            }
            else
            {
                _z.CopyFrom(_bckEnd);
                Array.Copy(_rho, _rhoFwd, _d);
                Array.Copy(_pBckBck, _pFwdBck, _d);
                Array.Copy(_sBckBck, _sFwdBck, _d);
                valid = BuildTree(depth, _propose, _sBckFwd, _sBckBck, _rhoBck, _pBckFwd, _pBckBck, h0, -1, ref logSumWeightSubtree);
                _bckEnd.CopyFrom(_z);
            }

            if (!valid)
            {
                break;
            }

            depth++;
            if (logSumWeightSubtree > logSumWeight || _rng.NextDouble() < Math.Exp(logSumWeightSubtree - logSumWeight))
            {
                _sample.CopyFrom(_propose);
            }

            logSumWeight = LogSumExp(logSumWeight, logSumWeightSubtree);
            for (int i = 0; i < _d; i++)
            {
                _rho[i] = _rhoBck[i] + _rhoFwd[i];
            }

            bool persist = Criterion(_sBckBck, _sFwdFwd, _rho, null)
                && Criterion(_sBckBck, _sFwdBck, _rhoBck, _pFwdBck)
                && Criterion(_sBckFwd, _sFwdFwd, _rhoFwd, _pBckFwd);
            if (!persist)
            {
                break;
            }
        }

        _current.CopyFrom(_sample);
        return new Transition(
            _leapfrogs > 0 ? _sumMetroProb / _leapfrogs : 0,
            depth,
            _leapfrogs,
            _divergent,
            _current.LogP);
    }

    /// <summary>Stan's heuristic: double or halve the step until one leapfrog's acceptance crosses 0.8.</summary>
    public void InitializeStepSize()
    {
        double target = Math.Log(0.8);
        int direction = 0;
        for (int attempt = 0; attempt < 100; attempt++)
        {
            _z.CopyFrom(_current);
            for (int i = 0; i < _d; i++)
            {
                _z.P[i] = Normal() / Math.Sqrt(_invMetric[i]);
            }

            double h0 = Hamiltonian(_z);
            Leapfrog(_z, StepSize);
            double h = Hamiltonian(_z);
            if (double.IsNaN(h))
            {
                h = double.PositiveInfinity;
            }

            double deltaH = h0 - h;
            if (direction == 0)
            {
                direction = deltaH > target ? 1 : -1;
            }
            else if ((direction == 1 && !(deltaH > target)) || (direction == -1 && !(deltaH < target)))
            {
                break;
            }

            StepSize = direction == 1 ? 2 * StepSize : 0.5 * StepSize;
            if (StepSize > 1e7 || StepSize < 1e-300)
            {
                throw new InvalidOperationException("The step size could not be initialised: the posterior may be improper or its gradient wrong.");
            }
        }
    }

    private bool BuildTree(int depth, Point propose, double[] sharpBeg, double[] sharpEnd, double[] rho, double[] pBeg, double[] pEnd, double h0, int sign, ref double logSumWeight)
    {
        if (depth == 0)
        {
            Leapfrog(_z, sign * StepSize);
            _leapfrogs++;
            double h = Hamiltonian(_z);
            if (double.IsNaN(h))
            {
                h = double.PositiveInfinity;
            }

            if (h - h0 > MaxEnergyError)
            {
                _divergent = true;
            }

            logSumWeight = LogSumExp(logSumWeight, h0 - h);
            _sumMetroProb += h0 - h > 0 ? 1 : Math.Exp(h0 - h);
            propose.CopyFrom(_z);
            for (int i = 0; i < _d; i++)
            {
                double p = _z.P[i];
                sharpBeg[i] = sharpEnd[i] = _invMetric[i] * p;
                pBeg[i] = pEnd[i] = p;
                rho[i] += p;
            }

            return !_divergent;
        }

        var level = _levels[depth];
        Array.Clear(level.RhoInit);
        double logSumWeightInit = double.NegativeInfinity;
        if (!BuildTree(depth - 1, propose, sharpBeg, level.SharpInitEnd, level.RhoInit, pBeg, level.PInitEnd, h0, sign, ref logSumWeightInit))
        {
            return false;
        }

        Array.Clear(level.RhoFinal);
        double logSumWeightFinal = double.NegativeInfinity;
        if (!BuildTree(depth - 1, level.ProposeFinal, level.SharpFinalBeg, sharpEnd, level.RhoFinal, level.PFinalBeg, pEnd, h0, sign, ref logSumWeightFinal))
        {
            return false;
        }

        double logSumWeightSubtree = LogSumExp(logSumWeightInit, logSumWeightFinal);
        logSumWeight = LogSumExp(logSumWeight, logSumWeightSubtree);
        if (logSumWeightFinal > logSumWeightSubtree || _rng.NextDouble() < Math.Exp(logSumWeightFinal - logSumWeightSubtree))
        {
            propose.CopyFrom(level.ProposeFinal);
        }

        for (int i = 0; i < _d; i++)
        {
            level.RhoSubtree[i] = level.RhoInit[i] + level.RhoFinal[i];
            rho[i] += level.RhoSubtree[i];
        }

        return Criterion(sharpBeg, sharpEnd, level.RhoSubtree, null)
            && Criterion(sharpBeg, level.SharpFinalBeg, level.RhoInit, level.PFinalBeg)
            && Criterion(level.SharpInitEnd, sharpEnd, level.RhoFinal, level.PInitEnd);
    }

    // The generalised no-U-turn criterion: both ends still move along ρ (+ an optional extra momentum).
    private bool Criterion(double[] sharpMinus, double[] sharpPlus, double[] rho, double[]? extra)
    {
        double minus = 0;
        double plus = 0;
        for (int i = 0; i < _d; i++)
        {
            double r = extra is null ? rho[i] : rho[i] + extra[i];
            minus += sharpMinus[i] * r;
            plus += sharpPlus[i] * r;
        }

        return minus > 0 && plus > 0;
    }

    private void Leapfrog(Point z, double epsilon)
    {
        double half = 0.5 * epsilon;
        for (int i = 0; i < _d; i++)
        {
            z.P[i] += half * z.G[i];
        }

        for (int i = 0; i < _d; i++)
        {
            z.Q[i] += epsilon * _invMetric[i] * z.P[i];
        }

        z.LogP = _target.LogDensity(z.Q, z.G);
        for (int i = 0; i < _d; i++)
        {
            z.P[i] += half * z.G[i];
        }
    }

    private double Hamiltonian(Point z)
    {
        if (double.IsNaN(z.LogP) || double.IsNegativeInfinity(z.LogP))
        {
            return double.PositiveInfinity;
        }

        double kinetic = 0;
        for (int i = 0; i < _d; i++)
        {
            kinetic += _invMetric[i] * z.P[i] * z.P[i];
        }

        return -z.LogP + (0.5 * kinetic);
    }

    private double Normal()
    {
        // Marsaglia's polar method (one of the pair is discarded; simplicity over speed).
        while (true)
        {
            double u = (2 * _rng.NextDouble()) - 1;
            double v = (2 * _rng.NextDouble()) - 1;
            double s = (u * u) + (v * v);
            if (s > 0 && s < 1)
            {
                return u * Math.Sqrt(-2 * Math.Log(s) / s);
            }
        }
    }

    private static double LogSumExp(double a, double b)
    {
        if (double.IsNegativeInfinity(a))
        {
            return b;
        }

        if (double.IsNegativeInfinity(b))
        {
            return a;
        }

        double max = Math.Max(a, b);
        return max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }

    internal readonly record struct Transition(double AcceptStat, int TreeDepth, int Leapfrogs, bool Divergent, double LogDensity);

    private sealed class Point(int d)
    {
        public readonly double[] Q = new double[d];
        public readonly double[] P = new double[d];
        public readonly double[] G = new double[d];
        public double LogP;

        public void CopyFrom(Point other)
        {
            Array.Copy(other.Q, Q, Q.Length);
            Array.Copy(other.P, P, P.Length);
            Array.Copy(other.G, G, G.Length);
            LogP = other.LogP;
        }
    }

    private sealed class Level(int d)
    {
        public readonly double[] RhoInit = new double[d];
        public readonly double[] RhoFinal = new double[d];
        public readonly double[] RhoSubtree = new double[d];
        public readonly double[] PInitEnd = new double[d];
        public readonly double[] SharpInitEnd = new double[d];
        public readonly double[] PFinalBeg = new double[d];
        public readonly double[] SharpFinalBeg = new double[d];
        public readonly Point ProposeFinal = new(d);
    }
}
