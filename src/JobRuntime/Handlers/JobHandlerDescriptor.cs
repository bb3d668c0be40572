using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace JobRuntime;

/// <summary>A registered job type: its name, handler, argument and result types, and defaults.</summary>
internal abstract class JobHandlerDescriptor(string name, Type handlerType, Type argsType, Type resultType, JobHandlerOptions options)
{
    public string Name { get; } = name;

    public Type HandlerType { get; } = handlerType;

    public Type ArgsType { get; } = argsType;

    public Type ResultType { get; } = resultType;

    public JobHandlerOptions Options { get; } = options;

    /// <summary>
    /// Whether the handler is made with its parameterless constructor, without DI (and so without a
    /// DI scope): set at registration when the handler asks for nothing — a public parameterless
    /// constructor and no other, not disposable — and was not registered in DI before.
    /// </summary>
    public bool CreatedDirectly { get; init; }

    /// <summary>Serializes submit arguments as the handler's declared argument type.</summary>
    /// <exception cref="JobPayloadException">The arguments do not fit the handler or do not serialize.</exception>
    public abstract string SerializeArgs<T>(T args, JsonSerializerOptions options);

    /// <summary>Checks a raw JSON payload against the handler's argument type.</summary>
    /// <exception cref="JobPayloadException">The payload does not deserialize.</exception>
    public abstract void ValidatePayload(string payload, JsonSerializerOptions options);

    /// <summary>Deserializes the payload, runs the handler from <paramref name="services"/>, and serializes its result.</summary>
    /// <exception cref="JobPayloadException">The stored payload does not deserialize (the job fails without retry).</exception>
    public abstract ValueTask<string> InvokeAsync(IServiceProvider services, string payload, JobContext context, JsonSerializerOptions options);

    /// <summary>Deserializes the payload and runs the handler; its result unserialized (the end of a middleware pipeline).</summary>
    public abstract ValueTask<object?> InvokeHandlerAsync(IServiceProvider services, string payload, JobContext context, JsonSerializerOptions options);

    /// <summary>Serializes what a pipeline returned as the handler's result type.</summary>
    /// <exception cref="InvalidOperationException">The value is not of the handler's result type (a middleware short-circuited with something else).</exception>
    public abstract string SerializeResult(object? result, JsonSerializerOptions options);
}

/// <summary>The typed descriptor; all reflection happens once, at registration.</summary>
internal sealed class JobHandlerDescriptor<THandler, TArgs, TResult>(string name, JobHandlerOptions options)
    : JobHandlerDescriptor(name, typeof(THandler), typeof(TArgs), typeof(TResult), options)
    where THandler : class, IJobHandler<TArgs, TResult>
{
    public override string SerializeArgs<T>(T args, JsonSerializerOptions options)
    {
        if (args is not null and not TArgs)
        {
            throw new JobPayloadException($"Job type '{Name}' takes arguments of type {typeof(TArgs).FullName}, not {args.GetType().FullName}.");
        }

        if (args is null && !AcceptsNull)
        {
            throw new JobPayloadException($"Job type '{Name}' needs arguments of type {typeof(TArgs).FullName}; null was given (declare the handler's argument nullable to accept null).");
        }

        try
        {
            return JsonSerializer.Serialize((TArgs)(object?)args!, ArgsInfo(options));
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new JobPayloadException($"The arguments of job type '{Name}' ({typeof(TArgs).FullName}) do not serialize to JSON: {ex.Message}", ex);
        }
    }

    public override void ValidatePayload(string payload, JsonSerializerOptions options) => Deserialize(payload, options);

    /// <summary>
    /// Whether the handler takes <see langword="null"/> arguments: a <see cref="Nullable{T}"/>, or a
    /// reference type its <c>ExecuteAsync</c> declares nullable (<c>FitArgs? args</c>). Anything else
    /// would meet a <see cref="NullReferenceException"/> inside the handler, so null is refused at submit.
    /// </summary>
    private static readonly bool AcceptsNull = default(TArgs) is null
        && (Nullable.GetUnderlyingType(typeof(TArgs)) is not null || DeclaresNullableArgument());

    private static bool DeclaresNullableArgument()
    {
        var map = typeof(THandler).GetInterfaceMap(typeof(IJobHandler<TArgs, TResult>));
        var parameter = map.TargetMethods[0].GetParameters()[0];
        return new System.Reflection.NullabilityInfoContext().Create(parameter).ReadState == System.Reflection.NullabilityState.Nullable;
    }

    public override async ValueTask<string> InvokeAsync(IServiceProvider services, string payload, JobContext context, JsonSerializerOptions options)
    {
        var args = Deserialize(payload, options);
        var handler = CreateHandler(services);
        var result = await handler.ExecuteAsync(args, context).ConfigureAwait(false);
        return JsonSerializer.Serialize(result, ResultInfo(options));
    }

    public override async ValueTask<object?> InvokeHandlerAsync(IServiceProvider services, string payload, JobContext context, JsonSerializerOptions options)
    {
        var args = Deserialize(payload, options);
        var handler = CreateHandler(services);
        return await handler.ExecuteAsync(args, context).ConfigureAwait(false);
    }

    public override string SerializeResult(object? result, JsonSerializerOptions options)
    {
        if (result is TResult typed)
        {
            return JsonSerializer.Serialize(typed, ResultInfo(options));
        }

        if (result is null && default(TResult) is null)
        {
            return JsonSerializer.Serialize(default(TResult)!, ResultInfo(options));
        }

        throw new InvalidOperationException(
            $"The pipeline of job type '{Name}' returned {(result is null ? "null" : "a " + result.GetType().FullName)}, but its handler returns {typeof(TResult).FullName}: a middleware that answers instead of the handler must return the handler's result type.");
    }

    /// <summary>Whether <typeparamref name="THandler"/> can be made without DI: one public constructor, parameterless, and nothing to dispose.</summary>
    public static bool AsksForNothing()
    {
        var constructors = typeof(THandler).GetConstructors();
        return !typeof(THandler).IsAbstract
            && constructors.Length == 1 && constructors[0].GetParameters().Length == 0
            && !typeof(IDisposable).IsAssignableFrom(typeof(THandler))
            && !typeof(IAsyncDisposable).IsAssignableFrom(typeof(THandler));
    }

    /// <summary>The attempt's handler: made directly when it asks for nothing, else from the attempt's scope.</summary>
    private THandler CreateHandler(IServiceProvider services)
        => CreatedDirectly ? Activator.CreateInstance<THandler>() : ActivatorUtilities.GetServiceOrCreateInstance<THandler>(services);

    // The contracts of the arguments and the result for the options last used (the runtime's, in practice): each job
    // serializes its arguments, reads them back and serializes its result, and the options' own lookup is a
    // dictionary by type each time.
    private TypeInfoFor<TArgs>? _argsInfo;
    private TypeInfoFor<TResult>? _resultInfo;

    private JsonTypeInfo<TArgs> ArgsInfo(JsonSerializerOptions options) => TypeInfo(ref _argsInfo, options);

    private JsonTypeInfo<TResult> ResultInfo(JsonSerializerOptions options) => TypeInfo(ref _resultInfo, options);

    private static JsonTypeInfo<T> TypeInfo<T>(ref TypeInfoFor<T>? cached, JsonSerializerOptions options)
    {
        if (Volatile.Read(ref cached) is { } known && ReferenceEquals(known.Options, options))
        {
            return known.Info;
        }

        options.MakeReadOnly(populateMissingResolver: true);
        var info = (JsonTypeInfo<T>)options.GetTypeInfo(typeof(T));
        Volatile.Write(ref cached, new TypeInfoFor<T>(options, info));
        return info;
    }

    /// <summary>A contract and the options it came from (read-only options do not change).</summary>
    private sealed record TypeInfoFor<T>(JsonSerializerOptions Options, JsonTypeInfo<T> Info);

    private TArgs Deserialize(string payload, JsonSerializerOptions options)
    {
        TArgs args;
        try
        {
            args = JsonSerializer.Deserialize(payload, ArgsInfo(options))!;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new JobPayloadException($"The payload of job type '{Name}' is not a valid {typeof(TArgs).FullName}: {ex.Message}", ex);
        }

        if (args is null && !AcceptsNull)
        {
            throw new JobPayloadException($"The payload of job type '{Name}' is null, but the handler needs a {typeof(TArgs).FullName} (declare its argument nullable to accept null).");
        }

        return args;
    }
}
