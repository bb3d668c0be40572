using System.Reflection;

namespace JobRuntime.ThreadDumps;

/// <summary>
/// Reads an async call chain from a suspended task: each async method's state-machine box holds
/// its state machine, whose awaiter fields hold the task it is suspended on; following them from
/// the root gives the chain, outermost first. Reflection over runtime internals: best effort, and
/// never throws.
/// </summary>
internal static class AsyncChain
{
    private const BindingFlags Fields = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
    private const int MaxDepth = 64;

    public static IReadOnlyList<string> Describe(Task? root)
    {
        var chain = new List<string>();
        try
        {
            var seen = new HashSet<Task>(ReferenceEqualityComparer.Instance);
            var task = root;
            while (task is not null && chain.Count < MaxDepth && seen.Add(task))
            {
                var stateMachine = task.GetType().GetField("StateMachine", Fields)?.GetValue(task);
                if (stateMachine is null)
                {
                    chain.Add($"awaiting {Leaf(task)}");
                    break;
                }

                var method = MethodName(stateMachine.GetType());
                var (inner, other) = Awaited(stateMachine);
                chain.Add(method);
                if (inner is null)
                {
                    if (other is not null)
                    {
                        chain.Add($"awaiting {other}");
                    }

                    break;
                }

                task = inner;
            }
        }
        catch (Exception ex) when (ex is TargetException or FieldAccessException or InvalidOperationException or NotSupportedException)
        {
            chain.Add($"(the rest of the chain could not be read: {ex.GetType().Name})");
        }

        return chain;
    }

    private static string MethodName(Type stateMachine)
    {
        // The compiler names a state machine "<Method>d__N" and nests it in the method's type.
        var name = stateMachine.Name;
        var method = name.StartsWith('<') && name.IndexOf('>', StringComparison.Ordinal) is > 1 and var end ? name[1..end] : name;
        var owner = stateMachine.DeclaringType;
        return owner is null ? method : $"{owner.FullName?.Replace('+', '.')}.{method}";
    }

    /// <summary>The unfinished task behind one of the state machine's awaiters, or a description of a non-task awaitable.</summary>
    private static (Task? Task, string? Other) Awaited(object stateMachine)
    {
        string? other = null;
        foreach (var field in stateMachine.GetType().GetFields(Fields))
        {
            if (!field.Name.StartsWith("<>u__", StringComparison.Ordinal))
            {
                continue;
            }

            var awaiter = field.GetValue(stateMachine);
            if (awaiter is null)
            {
                continue;
            }

            var awaiterType = awaiter.GetType();
            if (awaiterType.GetField("m_task", Fields)?.GetValue(awaiter) is Task { IsCompleted: false } task)
            {
                return (task, null);
            }

            if (awaiterType.GetField("_value", Fields)?.GetValue(awaiter) is { } valueTask)
            {
                switch (valueTask.GetType().GetField("_obj", Fields)?.GetValue(valueTask))
                {
                    case Task { IsCompleted: false } inner:
                        return (inner, null);
                    case { } source:
                        other ??= $"a {source.GetType().Name} (IValueTaskSource)";
                        break;
                }
            }
        }

        return (null, other);
    }

    private static string Leaf(Task task)
    {
        var type = task.GetType();
        var name = type.IsGenericType ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(a => a.Name))}>" : type.Name;
        return $"{name} #{task.Id} ({task.Status}, completed by whoever holds its TaskCompletionSource or timer)";
    }
}
