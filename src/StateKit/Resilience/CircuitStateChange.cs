using System;

namespace StateKit.Resilience;

/// <summary>What <see cref="CircuitBreaker.StateChanged"/> reports: one transition of one breaker.</summary>
public readonly struct CircuitStateChange
{
    internal CircuitStateChange(string name, CircuitState from, CircuitState to, DateTimeOffset at)
    {
        Name = name;
        From = from;
        To = to;
        At = at;
    }

    /// <summary>Gets the breaker's name: the store it guards.</summary>
    public string Name { get; }

    /// <summary>Gets the state left.</summary>
    public CircuitState From { get; }

    /// <summary>Gets the state entered.</summary>
    public CircuitState To { get; }

    /// <summary>Gets when the transition happened, by the breaker's <see cref="TimeProvider"/>.</summary>
    public DateTimeOffset At { get; }
}
