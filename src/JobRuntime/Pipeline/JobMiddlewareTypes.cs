namespace JobRuntime;

/// <summary>The middleware types registered, outermost first (a singleton in DI).</summary>
internal sealed class JobMiddlewareTypes
{
    private readonly List<Type> _types = [];

    public IReadOnlyList<Type> Types => _types;

    public void Add(Type type)
    {
        if (!_types.Contains(type))
        {
            _types.Add(type);
        }
    }
}
