using Hubs.ContractGen;

// dotnet run --project tools/Hubs.ContractGen [-- <output path>]; the default is the TypeScript client's source.
var output = args.Length > 0 ? args[0] : TypeScriptContract.DefaultOutput(AppContext.BaseDirectory);
File.WriteAllText(output, TypeScriptContract.Generate());
Console.WriteLine($"wrote {Path.GetFullPath(output)}");
