using Hubs.Tests.Infrastructure;

namespace Hubs.Tests;

/// <summary>Saves the run ledger once every test of the assembly has run.</summary>
[SetUpFixture]
public sealed class RunLedgerSetUp
{
    [OneTimeTearDown]
    public void SaveLedger() => RunLedger.Save();
}
