namespace StateKit.DependencyInjection;

/// <summary>Per store name: whether the breaker registered for it is turned off (<c>WithoutCircuitBreaker</c>); the last call wins.</summary>
internal sealed class CircuitBreakerSwitch
{
    public bool Off { get; set; }
}
