using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hubs.Contracts;

namespace Hubs.ContractGen;

/// <summary>
/// The TypeScript form of <c>Hubs.Contracts</c>: DTOs as interfaces (camelCase members, as on the wire), string enums
/// and constant classes as <c>as const</c> objects with their value unions, and the hub's methods and events by name
/// with their types. Read by reflection, so the two clients cannot drift apart: a test regenerates it and compares.
/// </summary>
public static class TypeScriptContract
{
    /// <summary>Where the generated file lives in the repository, relative to the repository root.</summary>
    public const string RelativePath = "Hubs.Client/typescript/src/contract.ts";

    private static readonly Assembly Contracts = typeof(IRoomHub).Assembly;
    private static readonly NullabilityInfoContext Nullability = new();

    // What the server writes (hub results, event payloads and what they hold) carries every member: a default there
    // keeps older C# callers compiling (RoomInfo.PresenceMode, JoinRoomResult.MembersComplete); it is not optional on the wire.
    private static readonly HashSet<Type> Received = Reachable(
        typeof(IRoomHub).GetMethods().Select(m => m.ReturnType)
            .Concat(typeof(IRoomClient).GetMethods().SelectMany(m => m.GetParameters()).Select(p => p.ParameterType)));

    /// <summary>The repository's copy of the file, found by walking up from <paramref name="start"/> to Hubs.sln.</summary>
    public static string DefaultOutput(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hubs.sln")))
            {
                return Path.Combine(dir.FullName, RelativePath);
            }
        }

        throw new InvalidOperationException($"No Hubs.sln above {start}.");
    }

    /// <summary>The whole file.</summary>
    public static string Generate()
    {
        var ts = new StringBuilder();
        ts.Append("// Generated from Hubs.Contracts by tools/Hubs.ContractGen; do not edit.\n");
        ts.Append("// Regenerate: dotnet run --project tools/Hubs.ContractGen\n");

        foreach (var type in Exported(t => t.IsEnum))
        {
            WriteEnum(ts, type);
        }

        foreach (var type in Exported(t => t.IsAbstract && t.IsSealed))
        {
            WriteConstants(ts, type);
        }

        foreach (var type in Exported(t => t.IsClass && !t.IsAbstract && IsRecord(t)))
        {
            WriteRecord(ts, type);
        }

        WriteHub(ts);
        WriteEvents(ts);
        return ts.ToString();
    }

    private static IEnumerable<Type> Exported(Func<Type, bool> kind) =>
        Contracts.GetExportedTypes().Where(kind).OrderBy(t => t.Name, StringComparer.Ordinal);

    private static bool IsRecord(Type type) => type.GetMethod("<Clone>$") is not null;

    private static void WriteEnum(StringBuilder ts, Type type)
    {
        var values = type.GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (f.Name, Literal: JsonSerializer.Serialize(f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name
                ?? throw new InvalidOperationException($"{type.Name}.{f.Name} has no wire name."))))
            .ToArray();
        WriteConstObject(ts, type, type.Name, values);
    }

    private static void WriteConstants(StringBuilder ts, Type type)
    {
        var literals = type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToArray();
        var values = literals.Where(f => f.FieldType == typeof(string))
            .Select(f => (f.Name, Literal: JsonSerializer.Serialize((string)f.GetRawConstantValue()!)))
            .ToArray();
        if (values.Length > 0)
        {
            // ErrorCodes → ErrorCode, PresenceStatus → PresenceStatus, RemovalReasons → RemovalReason, HubRoutes → HubRoute.
            var union = type.Name.EndsWith('s') && !type.Name.EndsWith("us", StringComparison.Ordinal) ? type.Name[..^1] : type.Name;
            WriteConstObject(ts, type, union, values);
            return;
        }

        // Numbers (LargeRoomBounds) are limits, not wire values: an object of them, without a union type.
        var numbers = literals.Where(f => f.FieldType == typeof(int))
            .Select(f => (f.Name, Literal: ((int)f.GetRawConstantValue()!).ToString(CultureInfo.InvariantCulture)))
            .ToArray();
        if (numbers.Length > 0)
        {
            WriteConstObject(ts, type, union: null, numbers);
        }
    }

    private static void WriteConstObject(StringBuilder ts, Type type, string? union, (string Name, string Literal)[] values)
    {
        ts.Append('\n');
        ts.Append($"export const {type.Name} = {{\n");
        foreach (var (name, literal) in values)
        {
            ts.Append($"  {name}: {literal},\n");
        }

        ts.Append("} as const;\n");
        if (union is not null)
        {
            ts.Append($"export type {union} = (typeof {type.Name})[keyof typeof {type.Name}];\n");
        }
    }

    private static void WriteRecord(StringBuilder ts, Type type) => ts.Append(Interface(type));

    /// <summary>The TypeScript interface of one DTO record, as <see cref="Generate"/> writes it.</summary>
    public static string Interface(Type type)
    {
        var ts = new StringBuilder();
        var constructor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        ts.Append('\n');
        ts.Append($"export interface {type.Name} {{\n");
        var parameters = constructor.GetParameters();
        var sent = !Received.Contains(type);
        foreach (var parameter in parameters)
        {
            WriteMember(ts, type.GetProperty(parameter.Name!, BindingFlags.Public | BindingFlags.Instance)!, sent && parameter.HasDefaultValue);
        }

        // System.Text.Json writes every public property, so those declared in the record's body are on the wire too;
        // one with an init accessor and no `required` may be left out of a request.
        var inConstructor = parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => !inConstructor.Contains(p.Name))
            .OrderBy(p => p.MetadataToken))
        {
            WriteMember(ts, property, sent && property.CanWrite && property.GetCustomAttribute<RequiredMemberAttribute>() is null);
        }

        ts.Append("}\n");
        return ts.ToString();
    }

    private static void WriteMember(StringBuilder ts, PropertyInfo property, bool optional)
    {
        var nullable = IsNullable(property) ? " | null" : string.Empty;
        ts.Append($"  {JsonNamingPolicy.CamelCase.ConvertName(property.Name)}{(optional ? "?" : string.Empty)}: {TypeOf(property.PropertyType)}{nullable};\n");
    }

    private static void WriteHub(StringBuilder ts)
    {
        var methods = typeof(IRoomHub).GetMethods().OrderBy(m => m.MetadataToken).ToArray();
        ts.Append("\n/** Every hub method, by wire name, with its arguments and result. */\n");
        ts.Append("export interface RoomHub {\n");
        foreach (var method in methods)
        {
            var parameters = string.Join(", ", method.GetParameters().Select(p => $"{p.Name}: {TypeOf(p.ParameterType)}"));
            ts.Append($"  {method.Name}({parameters}): Promise<{ResultOf(method.ReturnType)}>;\n");
        }

        ts.Append("}\n");
        WriteNames(ts, "RoomHubMethods", methods.Select(m => m.Name));
    }

    private static void WriteEvents(StringBuilder ts)
    {
        var events = typeof(IRoomClient).GetMethods().OrderBy(m => m.MetadataToken).ToArray();
        ts.Append("\n/** Every event the server sends, by wire name, with its payload. */\n");
        ts.Append("export interface RoomClientEvents {\n");
        foreach (var method in events)
        {
            var parameter = method.GetParameters().Single();
            ts.Append($"  {method.Name}: ({parameter.Name}: {TypeOf(parameter.ParameterType)}) => void;\n");
        }

        ts.Append("}\n");
        WriteNames(ts, "RoomClientEventNames", events.Select(m => m.Name));
    }

    private static void WriteNames(StringBuilder ts, string name, IEnumerable<string> names)
    {
        ts.Append($"export const {name} = [{string.Join(", ", names.Select(n => JsonSerializer.Serialize(n)))}] as const;\n");
    }

    private static string ResultOf(Type returnType) =>
        returnType == typeof(Task) ? "void" : TypeOf(returnType.GetGenericArguments().Single());

    private static string TypeOf(Type type)
    {
        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return TypeOf(underlying);
        }

        if (type == typeof(string) || type == typeof(DateTimeOffset))
        {
            // DateTimeOffset travels as an ISO 8601 string in JSON.
            return "string";
        }

        if (type == typeof(int) || type == typeof(long) || type == typeof(double))
        {
            return "number";
        }

        if (type == typeof(bool))
        {
            return "boolean";
        }

        if (type.IsArray)
        {
            return $"{TypeOf(type.GetElementType()!)}[]";
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return $"{TypeOf(type.GetGenericArguments()[0])}[]";
        }

        if (type.Assembly == Contracts)
        {
            return type.Name;
        }

        throw new InvalidOperationException($"No TypeScript form for {type}: teach {nameof(TypeScriptContract)} about it.");
    }

    private static HashSet<Type> Reachable(IEnumerable<Type> roots)
    {
        var found = new HashSet<Type>();
        var pending = new Stack<Type>(roots);
        while (pending.TryPop(out var type))
        {
            if (type.IsArray)
            {
                pending.Push(type.GetElementType()!);
            }
            else if (type.IsGenericType)
            {
                type.GetGenericArguments().ToList().ForEach(pending.Push);
            }
            else if (type.Assembly == Contracts && IsRecord(type) && found.Add(type))
            {
                type.GetProperties(BindingFlags.Public | BindingFlags.Instance).ToList().ForEach(p => pending.Push(p.PropertyType));
            }
        }

        return found;
    }

    private static bool IsNullable(PropertyInfo property) =>
        Nullable.GetUnderlyingType(property.PropertyType) is not null
        || Nullability.Create(property).ReadState == NullabilityState.Nullable;
}
