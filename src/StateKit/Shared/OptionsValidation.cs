using System;
using System.Collections.Generic;
using Microsoft.Extensions.Options;

namespace StateKit;

/// <summary>
/// The one way every StateKit package turns an options type's list of errors into a failure: a single
/// <see cref="OptionsValidationException"/> naming every bad setting, so a misconfigured app learns all of its mistakes at
/// start-up rather than one per restart. Linked as source into each package (like <c>Base64UrlText</c>), so the core's
/// internals stay its own.
/// </summary>
internal static class OptionsValidation
{
    /// <summary>Throws one exception listing every error, when there is any.</summary>
    /// <param name="optionsType">The options type the errors belong to.</param>
    /// <param name="errors">Every error found, each saying how to fix it.</param>
    /// <param name="name">The named options instance, or <see langword="null"/> for the default one.</param>
    public static void ThrowIfAny(Type optionsType, IReadOnlyCollection<string> errors, string? name = null)
    {
        if (errors.Count > 0)
        {
            throw Failure(optionsType, errors, name);
        }
    }

    /// <summary>The exception for errors found outside an options type's own list, for a <see langword="throw"/> the compiler can see.</summary>
    /// <param name="optionsType">The options type the errors belong to.</param>
    /// <param name="errors">Every error found, each saying how to fix it.</param>
    /// <param name="name">The named options instance, or <see langword="null"/> for the default one.</param>
    /// <returns>The exception to throw.</returns>
    public static OptionsValidationException Failure(Type optionsType, IReadOnlyCollection<string> errors, string? name = null) =>
        new(name ?? Options.DefaultName, optionsType, errors);

    /// <summary>The same list of errors as the result an <see cref="IValidateOptions{TOptions}"/> reports at start-up.</summary>
    /// <param name="errors">Every error found.</param>
    /// <returns>Success when the list is empty, else a failure carrying every error.</returns>
    public static ValidateOptionsResult ToResult(IReadOnlyCollection<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
