using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;
using StateKit.Sticky;

namespace StateKit.Yarp;

/// <summary>Reports every problem of the key ring at start-up, in one exception.</summary>
internal sealed class StateKitAffinityOptionsValidator : IValidateOptions<StateKitAffinityOptions>
{
    public ValidateOptionsResult Validate(string? name, StateKitAffinityOptions options)
    {
        var errors = new List<string>();
        if (options.Keys.Count == 0)
        {
            errors.Add("Keys must hold at least one key: the same StickyKey ring as the app nodes' StickySessionStoreOptions.Keys.");
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in options.Keys)
        {
            if (key is null || string.IsNullOrEmpty(key.Id) || !seen.Add(key.Id))
            {
                errors.Add("Every key needs a non-empty id of its own.");
            }
            else if (key.Secret is null || key.Secret.Length < StickyKey.MinSecretLength)
            {
                errors.Add($"Key '{key.Id}' needs at least {StickyKey.MinSecretLength} secret bytes, the same as on the app nodes.");
            }
        }

        if (options.DrainingHoldTime <= TimeSpan.Zero)
        {
            errors.Add($"DrainingHoldTime must be positive (was {options.DrainingHoldTime}); it is how long a drained node stays out of rotation after saying so.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
