using System.Collections.Generic;

namespace StateKit.Tiering;

/// <summary>
/// A store whose ticket is a composite of one ticket per named part (a tier). Transports use it to carry each part
/// separately, e.g. one cookie per tier, and to rewrite only the parts a commit changed.
/// </summary>
public interface ICompositeTicketStore
{
    /// <summary>Gets the name of every part a composite ticket may hold.</summary>
    IReadOnlyList<string> PartNames { get; }

    /// <summary>Splits a composite ticket into its parts.</summary>
    /// <param name="ticket">The composite ticket, as a commit returned it.</param>
    /// <returns>Each part's ticket by part name; empty when the ticket is malformed or names an unknown part.</returns>
    IReadOnlyDictionary<string, string> SplitTicket(string ticket);

    /// <summary>Joins the parts a client presented into the composite ticket the store loads.</summary>
    /// <param name="parts">Each part's ticket by part name. Parts with an empty ticket are left out.</param>
    /// <returns>The composite ticket, or <see langword="null"/> when there is no part at all.</returns>
    /// <exception cref="System.ArgumentException">A part name is not one of <see cref="PartNames"/>.</exception>
    string? JoinTicket(IReadOnlyDictionary<string, string> parts);
}
