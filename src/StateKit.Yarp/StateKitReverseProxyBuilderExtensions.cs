using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.SessionAffinity;

namespace StateKit.Yarp;

/// <summary>Adds StateKit session affinity to YARP.</summary>
public static class StateKitReverseProxyBuilderExtensions
{
    /// <summary>
    /// Registers the <see cref="StateKitAffinityOptions.PolicyName"/> session-affinity policy: requests carrying a
    /// StateKit sticky ticket go to the destination whose id equals the ticket's node id. Enable it per cluster with
    /// <c>SessionAffinity.Policy = "StateKit"</c>.
    /// </summary>
    /// <param name="builder">YARP's builder, from <c>AddReverseProxy()</c>.</param>
    /// <param name="configure">Sets the key ring (required: the app nodes' keys).</param>
    /// <returns>The builder.</returns>
    public static IReverseProxyBuilder AddStateKitAffinity(this IReverseProxyBuilder builder, Action<StateKitAffinityOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddOptions<StateKitAffinityOptions>().Configure(configure).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StateKitAffinityOptions>, StateKitAffinityOptionsValidator>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ISessionAffinityPolicy, StateKitAffinityPolicy>());
        return builder;
    }
}
