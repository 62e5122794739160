using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;

namespace StateKit.DependencyInjection;

/// <summary>
/// The store names whose current store already has a circuit breaker, so that a second <c>WithCircuitBreaker</c> (e.g. after
/// <c>UseRedis</c>, which turns one on by default) configures that breaker instead of stacking another. Choosing a store
/// again (<c>UseXxx</c>) forgets the name: the new store starts unguarded.
/// </summary>
internal sealed class GuardedStores
{
    private readonly HashSet<string> _names = new(System.StringComparer.Ordinal);

    public static GuardedStores Of(IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(GuardedStores))?.ImplementationInstance is GuardedStores existing)
        {
            return existing;
        }

        var created = new GuardedStores();
        services.AddSingleton(created);
        return created;
    }

    public bool Contains(string name) => _names.Contains(name);

    public void Add(string name) => _names.Add(name);

    public void Forget(string name) => _names.Remove(name);
}
