namespace StateKit.AspNetCore;

/// <summary>Every attempt to apply a batch lost to another commit of the same session; nothing was applied.</summary>
internal sealed class SyncContentionException(int attempts)
    : StateKitException($"The batch lost to concurrent commits of its session {attempts} times; nothing was applied. Send it again.")
{
    public int Attempts { get; } = attempts;
}
