namespace StateKit.Resilience;

/// <summary>
/// The answer of <see cref="CircuitBreaker.TryEnter"/>: whether a call may go to the store. Report the call's outcome
/// with <see cref="CircuitBreaker.OnSuccess"/>, <see cref="CircuitBreaker.OnFailure"/> or <see cref="CircuitBreaker.OnIgnored"/>.
/// </summary>
/// <remarks>A value type, so that asking the breaker costs no allocation, and a rejection is a value, not an exception.</remarks>
internal readonly struct CircuitPermit
{
    private readonly byte _kind;

    private CircuitPermit(byte kind) => _kind = kind;

    /// <summary>Gets a value indicating whether the call may go to the store.</summary>
    public bool IsAllowed => _kind != 0;

    /// <summary>Gets a value indicating whether the call is a half-open probe: its outcome closes or re-opens the circuit.</summary>
    public bool IsProbe => _kind == 2;

    internal static CircuitPermit Rejected => default;

    internal static CircuitPermit Allowed => new(1);

    internal static CircuitPermit Probe => new(2);
}
