namespace JobRuntime;

/// <summary>The registered job types by name.</summary>
internal sealed class JobHandlerRegistry
{
    private readonly Dictionary<string, JobHandlerDescriptor> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, List<JobHandlerDescriptor>> _byArgs = [];

    public JobHandlerRegistry(IEnumerable<JobHandlerDescriptor> descriptors)
    {
        foreach (var descriptor in descriptors)
        {
            if (_byName.TryGetValue(descriptor.Name, out var existing))
            {
                if (existing.HandlerType != descriptor.HandlerType)
                {
                    throw new InvalidOperationException($"Job type '{descriptor.Name}' is registered twice, for {existing.HandlerType.FullName} and {descriptor.HandlerType.FullName}.");
                }

                continue;
            }

            _byName.Add(descriptor.Name, descriptor);
            if (!_byArgs.TryGetValue(descriptor.ArgsType, out var list))
            {
                _byArgs[descriptor.ArgsType] = list = [];
            }

            list.Add(descriptor);
        }
    }

    public IEnumerable<string> Names => _byName.Keys;

    public bool TryGet(string name, out JobHandlerDescriptor descriptor) => _byName.TryGetValue(name, out descriptor!);

    public JobHandlerDescriptor Get(string name)
        => _byName.TryGetValue(name, out var descriptor)
            ? descriptor
            : throw new UnknownJobTypeException(name, _byName.Keys);

    public JobHandlerDescriptor GetByArgs(Type argsType)
    {
        if (!_byArgs.TryGetValue(argsType, out var list))
        {
            throw new UnknownJobTypeException($"No job type takes arguments of type {argsType.FullName}. Register a handler with AddHandler, or submit by job type name.");
        }

        if (list.Count > 1)
        {
            throw new UnknownJobTypeException($"Several job types take arguments of type {argsType.FullName} ({string.Join(", ", list.Select(d => d.Name))}); submit by job type name.");
        }

        return list[0];
    }
}
