using System.Globalization;

namespace JobRuntime.Samples.Fitting.Nist;

/// <summary>
/// A model formula in the notation of the NIST StRD files (for example
/// <c>b1*(1-exp[-b2*x])</c> or <c>(b1+b2*x+b3*x**2) / (1+b4*x)</c>), compiled for evaluation with
/// exact derivatives in every parameter (forward-mode automatic differentiation).
/// </summary>
/// <remarks>
/// Grammar: numbers, parameters b1…b99, the predictor x (or x1, x2, …), + − * / and ** (or ^, right-associative,
/// binding tighter than unary minus as in Fortran), parentheses or brackets, and the functions
/// exp, ln/log, sqrt, sin, cos, tan, arctan/atan, plus the constant pi.
/// </remarks>
public sealed class Formula
{
    private readonly Node _root;

    private Formula(Node root, int parameterCount, string text)
    {
        _root = root;
        ParameterCount = parameterCount;
        Text = text;
    }

    /// <summary>The number of parameters (the highest bK index used).</summary>
    public int ParameterCount { get; }

    /// <summary>The number of predictor columns (x or x1 → 1, x2 → 2, …).</summary>
    public int PredictorCount { get; private init; } = 1;

    /// <summary>The left-hand side the formula models: "y", or "log[y]" when the response is log-transformed (NIST's Nelson).</summary>
    public string Response { get; private init; } = "y";

    /// <summary>The formula text as parsed.</summary>
    public string Text { get; }

    /// <summary>Parses a formula; a leading <c>y =</c> and a trailing <c>+ e</c> are ignored.</summary>
    /// <param name="text">The formula.</param>
    /// <returns>The compiled formula.</returns>
    /// <exception cref="FormatException">The text is not a formula of the supported grammar.</exception>
    public static Formula Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string body = text.Trim();
        string response = "y";
        int eq = body.IndexOf('=', StringComparison.Ordinal);
        if (eq >= 0)
        {
            response = body[..eq].Trim().ToLowerInvariant();
            body = body[(eq + 1)..];
        }

        body = body.Trim();
        if (body.EndsWith('e') && body.TrimEnd('e').TrimEnd().EndsWith('+'))
        {
            body = body.TrimEnd('e').TrimEnd().TrimEnd('+');
        }

        var parser = new Parser(body);
        var root = parser.ParseAll();
        return new Formula(root, parser.MaxParameter, body.Trim()) { PredictorCount = Math.Max(1, parser.MaxPredictor), Response = response.Replace(" ", string.Empty, StringComparison.Ordinal) };
    }

    /// <summary>Evaluates the formula at a single predictor value <paramref name="x"/>.</summary>
    /// <param name="x">The predictor value.</param>
    /// <param name="parameters">The parameters b1…bn.</param>
    public double Evaluate(double x, ReadOnlySpan<double> parameters) => _root.Eval([x], parameters, Span<double>.Empty);

    /// <summary>Evaluates the formula at a single predictor value and writes its gradient in the parameters into <paramref name="gradient"/>.</summary>
    /// <param name="x">The predictor value.</param>
    /// <param name="parameters">The parameters b1…bn.</param>
    /// <param name="gradient">Receives ∂f/∂bⱼ, one per parameter.</param>
    /// <returns>The value.</returns>
    public double Evaluate(double x, ReadOnlySpan<double> parameters, Span<double> gradient) => Evaluate([x], parameters, gradient);

    /// <summary>Evaluates the formula at predictor values x1, x2, … (x is x1) and writes its gradient unless <paramref name="gradient"/> is empty.</summary>
    /// <param name="x">The predictor values, <see cref="PredictorCount"/> of them.</param>
    /// <param name="parameters">The parameters b1…bn.</param>
    /// <param name="gradient">Receives ∂f/∂bⱼ, or empty.</param>
    /// <returns>The value.</returns>
    public double Evaluate(ReadOnlySpan<double> x, ReadOnlySpan<double> parameters, Span<double> gradient)
    {
        gradient.Clear();
        return _root.Eval(x, parameters, gradient);
    }

    private abstract class Node
    {
        public abstract bool DependsOnParameters { get; }

        // Returns the value; adds nothing, but writes the gradient into grad (which is zeroed by the caller) unless empty.
        public abstract double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad);
    }

    private sealed class Constant(double value) : Node
    {
        public override bool DependsOnParameters => false;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad) => value;
    }

    private sealed class Variable(int column) : Node
    {
        public override bool DependsOnParameters => false;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad) => x[column];
    }

    private sealed class Parameter(int index) : Node
    {
        public override bool DependsOnParameters => true;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad)
        {
            if (!grad.IsEmpty)
            {
                grad[index] = 1;
            }

            return p[index];
        }
    }

    private sealed class Unary(char op, Node operand) : Node
    {
        public override bool DependsOnParameters => operand.DependsOnParameters;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad)
        {
            double u = operand.Eval(x, p, grad);
            if (op == '-')
            {
                for (int i = 0; i < grad.Length; i++)
                {
                    grad[i] = -grad[i];
                }

                return -u;
            }

            return u;
        }
    }

    private sealed class Function(string name, Node argument) : Node
    {
        public override bool DependsOnParameters => argument.DependsOnParameters;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad)
        {
            double u = argument.Eval(x, p, grad);
            (double value, double derivative) = name switch
            {
                "exp" => (Math.Exp(u), Math.Exp(u)),
                "ln" or "log" => (Math.Log(u), 1 / u),
                "sqrt" => (Math.Sqrt(u), 0.5 / Math.Sqrt(u)),
                "sin" => (Math.Sin(u), Math.Cos(u)),
                "cos" => (Math.Cos(u), -Math.Sin(u)),
                "tan" => (Math.Tan(u), 1 / (Math.Cos(u) * Math.Cos(u))),
                _ => (Math.Atan(u), 1 / (1 + (u * u))),
            };
            if (!grad.IsEmpty && argument.DependsOnParameters)
            {
                for (int i = 0; i < grad.Length; i++)
                {
                    grad[i] *= derivative;
                }
            }

            return value;
        }
    }

    private sealed class Binary(char op, Node left, Node right) : Node
    {
        public override bool DependsOnParameters => left.DependsOnParameters || right.DependsOnParameters;

        public override double Eval(ReadOnlySpan<double> x, ReadOnlySpan<double> p, Span<double> grad)
        {
            if (grad.IsEmpty || !DependsOnParameters)
            {
                return Combine(left.Eval(x, p, Span<double>.Empty), right.Eval(x, p, Span<double>.Empty));
            }

            Span<double> gr = grad.Length <= 32 ? stackalloc double[grad.Length] : new double[grad.Length];
            gr.Clear();
            double a = left.Eval(x, p, grad);
            double b = right.Eval(x, p, right.DependsOnParameters ? gr : Span<double>.Empty);
            switch (op)
            {
                case '+':
                    for (int i = 0; i < grad.Length; i++)
                    {
                        grad[i] += gr[i];
                    }

                    return a + b;
                case '-':
                    for (int i = 0; i < grad.Length; i++)
                    {
                        grad[i] -= gr[i];
                    }

                    return a - b;
                case '*':
                    for (int i = 0; i < grad.Length; i++)
                    {
                        grad[i] = (grad[i] * b) + (a * gr[i]);
                    }

                    return a * b;
                case '/':
                    double q = a / b;
                    for (int i = 0; i < grad.Length; i++)
                    {
                        grad[i] = (grad[i] - (q * gr[i])) / b;
                    }

                    return q;
                default:
                    double value = Math.Pow(a, b);
                    if (!right.DependsOnParameters)
                    {
                        double da = b * Math.Pow(a, b - 1);
                        for (int i = 0; i < grad.Length; i++)
                        {
                            grad[i] *= da;
                        }
                    }
                    else
                    {
                        double lna = Math.Log(a);
                        for (int i = 0; i < grad.Length; i++)
                        {
                            grad[i] = value * ((gr[i] * lna) + (grad[i] == 0 ? 0 : b * grad[i] / a));
                        }
                    }

                    return value;
            }
        }

        private double Combine(double a, double b) => op switch
        {
            '+' => a + b,
            '-' => a - b,
            '*' => a * b,
            '/' => a / b,
            _ => Math.Pow(a, b),
        };
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public int MaxParameter { get; private set; }

        public int MaxPredictor { get; private set; }

        public Node ParseAll()
        {
            var node = ParseSum();
            SkipSpace();
            if (_pos != text.Length)
            {
                throw Error($"unexpected '{text[_pos]}'");
            }

            if (MaxParameter == 0)
            {
                throw new FormatException($"The formula '{text}' has no parameters b1, b2, ….");
            }

            return node;
        }

        private Node ParseSum()
        {
            var node = ParseProduct();
            while (true)
            {
                SkipSpace();
                if (Peek() is '+' or '-')
                {
                    char op = text[_pos++];
                    node = new Binary(op, node, ParseProduct());
                }
                else
                {
                    return node;
                }
            }
        }

        private Node ParseProduct()
        {
            var node = ParseUnary();
            while (true)
            {
                SkipSpace();
                if (Peek() == '*' && PeekAt(1) != '*')
                {
                    _pos++;
                    node = new Binary('*', node, ParseUnary());
                }
                else if (Peek() == '/')
                {
                    _pos++;
                    node = new Binary('/', node, ParseUnary());
                }
                else
                {
                    return node;
                }
            }
        }

        private Node ParseUnary()
        {
            SkipSpace();
            if (Peek() is '-' or '+')
            {
                char op = text[_pos++];
                return new Unary(op, ParseUnary());
            }

            return ParsePower();
        }

        private Node ParsePower()
        {
            var node = ParsePrimary();
            SkipSpace();
            if (Peek() == '*' && PeekAt(1) == '*')
            {
                _pos += 2;
                return new Binary('^', node, ParseUnary());
            }

            if (Peek() == '^')
            {
                _pos++;
                return new Binary('^', node, ParseUnary());
            }

            return node;
        }

        private Node ParsePrimary()
        {
            SkipSpace();
            char c = Peek();
            if (c is '(' or '[')
            {
                _pos++;
                var inner = ParseSum();
                Expect(c == '(' ? ')' : ']');
                return inner;
            }

            if (char.IsDigit(c) || c == '.')
            {
                int start = _pos;
                while (_pos < text.Length && (char.IsDigit(text[_pos]) || text[_pos] == '.'))
                {
                    _pos++;
                }

                if (_pos < text.Length && text[_pos] is 'E' or 'e' && _pos + 1 < text.Length
                    && (char.IsDigit(text[_pos + 1]) || (text[_pos + 1] is '+' or '-' && _pos + 2 < text.Length && char.IsDigit(text[_pos + 2]))))
                {
                    _pos += 2;
                    while (_pos < text.Length && char.IsDigit(text[_pos]))
                    {
                        _pos++;
                    }
                }

                string number = text[start.._pos];
                return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
                    ? new Constant(value)
                    : throw Error($"'{number}' is not a number");
            }

            if (char.IsLetter(c))
            {
                int start = _pos;
                while (_pos < text.Length && char.IsLetterOrDigit(text[_pos]))
                {
                    _pos++;
                }

                string name = text[start.._pos].ToLowerInvariant();
                if (name == "x")
                {
                    MaxPredictor = Math.Max(MaxPredictor, 1);
                    return new Variable(0);
                }

                if (name.Length > 1 && name[0] == 'x' && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int column) && column >= 1)
                {
                    MaxPredictor = Math.Max(MaxPredictor, column);
                    return new Variable(column - 1);
                }

                if (name == "pi")
                {
                    return new Constant(Math.PI);
                }

                if (name.Length > 1 && name[0] == 'b' && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 1)
                {
                    MaxParameter = Math.Max(MaxParameter, k);
                    return new Parameter(k - 1);
                }

                string function = name switch
                {
                    "exp" or "ln" or "log" or "sqrt" or "sin" or "cos" or "tan" => name,
                    "arctan" or "atan" => "atan",
                    _ => throw Error($"unknown name '{name}'"),
                };
                SkipSpace();
                char open = Peek();
                if (open is not ('(' or '['))
                {
                    throw Error($"'{name}' must be followed by an argument in parentheses");
                }

                _pos++;
                var argument = ParseSum();
                Expect(open == '(' ? ')' : ']');
                return new Function(function, argument);
            }

            throw Error(_pos >= text.Length ? "unexpected end" : $"unexpected '{c}'");
        }

        private void Expect(char c)
        {
            SkipSpace();
            if (Peek() != c)
            {
                throw Error($"expected '{c}'");
            }

            _pos++;
        }

        private char Peek() => _pos < text.Length ? text[_pos] : '\0';

        private char PeekAt(int offset) => _pos + offset < text.Length ? text[_pos + offset] : '\0';

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private FormatException Error(string what) => new($"Cannot parse the formula '{text}': {what} at position {_pos + 1}.");
    }
}
