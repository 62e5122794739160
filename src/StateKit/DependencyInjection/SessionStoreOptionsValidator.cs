using Microsoft.Extensions.Options;

namespace StateKit.DependencyInjection;

/// <summary>Reports every invalid store setting at start-up, in one exception.</summary>
internal sealed class SessionStoreOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : SessionStoreOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var errors = options.GetValidationErrors();
        return OptionsValidation.ToResult(errors);
    }
}
