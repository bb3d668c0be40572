using System.Globalization;
using JobRuntime.Samples.Accuracy;

// The accuracy checks behind samples/README.md:
//   nist [FOLDER]  NIST StRD log relative errors, JobRuntime vs MathNet.Numerics
//   posterior      NUTS against the exact posteriors in ../shared/data/posterior
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
return args.FirstOrDefault() switch
{
    "nist" => NistComparison.Run(args[1..]),
    "posterior" => PosteriorChecks.Run(),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: accuracy nist [FOLDER] | accuracy posterior");
    return 2;
}
