using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Hubs.Benchmarks.HotPathBenchmarks).Assembly).Run(args);
