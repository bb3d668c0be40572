namespace JobRuntime.Samples.Fitting;

/// <summary>Small helpers over spans of doubles.</summary>
internal static class Spans
{
    /// <summary>Whether every value is finite.</summary>
    public static bool AllFinite(ReadOnlySpan<double> values)
    {
        foreach (double v in values)
        {
            if (!double.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
