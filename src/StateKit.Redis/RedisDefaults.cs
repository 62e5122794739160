namespace StateKit.Redis;

/// <summary>The defaults of every Redis store option, in one place.</summary>
internal static class RedisDefaults
{
    public const string KeyPrefix = "statekit:";

    // Rotation copies the session, then retires the old one only if nobody wrote it meanwhile; this bounds the retries.
    public const int RotationAttempts = 5;

    public const string Kind = "redis";

    // A healthy replica on the same network acknowledges in about a millisecond; half a second is a lost or lagging one.
    public static readonly System.TimeSpan ReplicaAckTimeout = System.TimeSpan.FromMilliseconds(500);
}
