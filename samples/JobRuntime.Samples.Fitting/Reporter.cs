namespace JobRuntime.Samples.Fitting;

/// <summary>An <see cref="IProgress{T}"/> that calls back synchronously on the reporting thread (unlike <see cref="Progress{T}"/>, which posts).</summary>
/// <typeparam name="T">The report type.</typeparam>
internal sealed class Reporter<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
