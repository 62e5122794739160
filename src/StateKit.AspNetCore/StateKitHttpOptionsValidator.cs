using Microsoft.Extensions.Options;

namespace StateKit.AspNetCore;

/// <summary>Reports every invalid transport setting at start-up, in one exception.</summary>
internal sealed class StateKitHttpOptionsValidator : IValidateOptions<StateKitHttpOptions>
{
    public ValidateOptionsResult Validate(string? name, StateKitHttpOptions options)
    {
        var errors = options.GetValidationErrors();
        return OptionsValidation.ToResult(errors);
    }
}
