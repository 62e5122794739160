using System.Collections.Generic;

namespace StateKit.Tiering;

/// <summary>
/// A store whose ticket is a composite of one ticket per named part (a tier). StateKit.AspNetCore carries each part
/// separately, one cookie or header per part, and rewrites only the parts a commit changed.
/// </summary>
/// <remarks>
/// Only the part names are public: splitting and joining composite tickets is the transport's business, and the format
/// (see docs/tiering.md) stays inside StateKit's packages so that it can change with its version prefix.
/// </remarks>
public interface ICompositeTicketStore
{
    /// <summary>Gets the name of every part a composite ticket may hold, in ordinal order.</summary>
    IReadOnlyList<string> PartNames { get; }
}
