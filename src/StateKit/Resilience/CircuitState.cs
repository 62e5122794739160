namespace StateKit.Resilience;

/// <summary>The state of a <see cref="CircuitBreaker"/>.</summary>
public enum CircuitState
{
    /// <summary>Calls flow to the store; outcomes are sampled.</summary>
    Closed = 0,

    /// <summary>The failure budget was spent: calls are rejected until the break duration ends.</summary>
    Open = 1,

    /// <summary>The break ended: a bounded number of probe calls test the store; the first success closes, the first failure re-opens.</summary>
    HalfOpen = 2,

    /// <summary>Opened by hand with <see cref="CircuitBreaker.Isolate"/>: calls are rejected until <see cref="CircuitBreaker.Reset"/>.</summary>
    Isolated = 3,
}
