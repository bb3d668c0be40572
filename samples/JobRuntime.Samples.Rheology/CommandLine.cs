using System.Globalization;

namespace JobRuntime.Samples.Rheology;

/// <summary>The parsed command line.</summary>
internal sealed record CommandLine
{
    public string Command { get; init; } = "run";

    public string? DataPath { get; init; }

    public int Modes { get; init; } = 2;

    public int Seed { get; init; } = 1;

    public double Noise { get; init; } = 0.03;

    public int Points { get; init; } = 40;

    public int Chains { get; init; } = 4;

    public int Warmup { get; init; } = 1000;

    public int Draws { get; init; } = 1000;

    public string Database { get; init; } = Path.Combine(AppContext.BaseDirectory, "jobs.db");

    public bool Hang { get; init; }

    public const string Usage = """
        usage: rheology [run] [--data FILE.csv | --seed N --noise X --points N] [--modes 1|2]
                        [--chains N --warmup N --draws N] [--db FILE] [--hang]
               rheology history [--db FILE]
        """;

    /// <summary>Parses the arguments; throws <see cref="FormatException"/> with a one-line reason.</summary>
    public static CommandLine Parse(string[] args)
    {
        var result = new CommandLine();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
        {
            result = args[0] switch
            {
                "run" => result,
                "history" => result with { Command = "history" },
                _ => throw new FormatException($"unknown command '{args[0]}'"),
            };
            i = 1;
        }

        for (; i < args.Length; i++)
        {
            string option = args[i];
            string Value()
            {
                if (i + 1 >= args.Length)
                {
                    throw new FormatException($"{option} needs a value");
                }

                return args[++i];
            }

            int Int(int min, int max)
            {
                string text = Value();
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= min && v <= max
                    ? v
                    : throw new FormatException($"{option} must be a whole number from {min} to {max}, not '{text}'");
            }

            result = option switch
            {
                "--data" => result with { DataPath = Value() },
                "--modes" => result with { Modes = Int(1, 2) },
                "--seed" => result with { Seed = Int(int.MinValue, int.MaxValue) },
                "--points" => result with { Points = Int(2, 100_000) },
                "--chains" => result with { Chains = Int(1, 64) },
                "--warmup" => result with { Warmup = Int(0, 1_000_000) },
                "--draws" => result with { Draws = Int(4, 1_000_000) },
                "--db" => result with { Database = Value() },
                "--hang" => result with { Hang = true },
                "--noise" => result with
                {
                    Noise = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double n) && n > 0 && n < 1
                        ? n
                        : throw new FormatException("--noise must be a number between 0 and 1"),
                },
                _ => throw new FormatException($"unknown option '{option}'"),
            };
        }

        return result;
    }
}
