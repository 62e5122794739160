namespace StateKit.Memory;

/// <summary>
/// A <see cref="SessionTable"/>'s least-recently-used order: a doubly linked list threaded through the entries themselves,
/// so that a touch moves an entry without allocating. Used only under the table's lock.
/// </summary>
internal sealed class SessionLruList
{
    /// <summary>Gets the entry used last.</summary>
    public SessionTableEntry? Hot { get; private set; }

    /// <summary>Gets the entry used longest ago: the next to trim or evict.</summary>
    public SessionTableEntry? Cold { get; private set; }

    /// <summary>Moves an entry (linked or not) to the hot end.</summary>
    public void Touch(SessionTableEntry entry)
    {
        if (Hot == entry)
        {
            return;
        }

        Unlink(entry);
        entry.Colder = Hot;
        if (Hot is not null)
        {
            Hot.Hotter = entry;
        }

        Hot = entry;
        Cold ??= entry;
    }

    /// <summary>Takes an entry out of the order; an entry not in it is left as it is.</summary>
    public void Unlink(SessionTableEntry entry)
    {
        if (entry.Hotter is not null)
        {
            entry.Hotter.Colder = entry.Colder;
        }
        else if (Hot == entry)
        {
            Hot = entry.Colder;
        }

        if (entry.Colder is not null)
        {
            entry.Colder.Hotter = entry.Hotter;
        }
        else if (Cold == entry)
        {
            Cold = entry.Hotter;
        }

        entry.Hotter = entry.Colder = null;
    }
}
