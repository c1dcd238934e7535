using Hubs.ContractGen;
using Hubs.Contracts;
using Hubs.Tests.Infrastructure;

namespace Hubs.Tests.Unit.Contracts;

/// <summary>
/// The TypeScript client's contract is generated from Hubs.Contracts. A change to a DTO, a method, an event or a code
/// value that is not regenerated fails here, so the .NET and TypeScript clients cannot drift apart.
/// </summary>
public sealed class TypeScriptContractTests
{
    [Test]
    public void CheckedInTypeScriptContract_MatchesHubsContracts()
    {
        var checkedIn = File.ReadAllText(Path.Combine(Repository.Root, TypeScriptContract.RelativePath));

        Assert.That(
            checkedIn.ReplaceLineEndings("\n"),
            Is.EqualTo(TypeScriptContract.Generate()),
            $"{TypeScriptContract.RelativePath} is out of date with Hubs.Contracts: run `dotnet run --project tools/Hubs.ContractGen`.");
    }

    [Test]
    public void Generated_CoversEveryMethodEventAndCode()
    {
        var generated = TypeScriptContract.Generate();

        Assert.Multiple(() =>
        {
            foreach (var method in typeof(IRoomHub).GetMethods())
            {
                Assert.That(generated, Does.Contain($"  {method.Name}("), method.Name);
            }

            foreach (var @event in typeof(IRoomClient).GetMethods())
            {
                Assert.That(generated, Does.Contain($"  {@event.Name}: ("), @event.Name);
            }

            foreach (var code in ErrorCodes.All)
            {
                Assert.That(generated, Does.Contain($": \"{code}\","), code);
            }

            Assert.That(generated, Does.Contain("  OwnerOnly: \"OWNER_ONLY\","));
            Assert.That(generated, Does.Contain("export interface RoomMessage {"));
            Assert.That(generated, Does.Contain("  clientMessageId: string | null;"));
            Assert.That(generated, Does.Contain("  displayName?: string | null;"));
            Assert.That(generated, Does.Contain("  members: MemberInfo[];"));
        });
    }

    [Test]
    public void Generate_ContractVersion2_ServerWrittenMembersRequired_BoundsAsNumbers()
    {
        var generated = TypeScriptContract.Generate();

        Assert.Multiple(() =>
        {
            // Defaults in the C# records keep older callers compiling; the server always writes these members.
            Assert.That(generated, Does.Contain("  presenceMode: string;\n"));
            Assert.That(generated, Does.Contain("  membersComplete: boolean;\n"));
            Assert.That(generated, Does.Contain("  afterUserId?: string | null;\n"), "a request's default is still optional");
            Assert.That(generated, Does.Contain("export const LargeRoomBounds = {\n  DigestListLimit: 100,\n"));
            Assert.That(generated, Does.Contain($"  MaxPageLimit: {LargeRoomBounds.MaxPageLimit},\n}} as const;\n\n"), "limits get no union type");
            Assert.That(generated, Does.Contain("export type PresenceMode = (typeof PresenceModes)[keyof typeof PresenceModes];"));
        });
    }

    [Test]
    public void Interface_PropertiesOutsideThePrimaryConstructor_AreWritten()
    {
        // System.Text.Json puts every public property on the wire, not only the constructor's: a member added to a
        // record's body must reach the TypeScript contract too, or the drift test above would not notice it.
        Assert.That(
            TypeScriptContract.Interface(typeof(ProbeRecord)),
            Is.EqualTo(
                "\nexport interface ProbeRecord {\n  roomId: string;\n  note?: string | null;\n  count: number;\n  length: number;\n}\n"));
    }

    public sealed record ProbeRecord(string RoomId)
    {
        public string? Note { get; init; }

        public required int Count { get; init; }

        public int Length => RoomId.Length;
    }
}
