namespace StateKit;

/// <summary>
/// A store's proof that it verified one exact ticket string (a signature checked, say), carried on the snapshot it loaded
/// under that ticket to the commit based on it, so that the commit does not verify the same string again. Each store
/// derives its own proof and trusts only proofs it made; the core carries them and never reads them.
/// </summary>
/// <param name="ticket">The ticket string that was verified.</param>
internal abstract class TicketProof(string ticket)
{
    /// <summary>Gets the ticket string that was verified; a proof holds for this exact string only.</summary>
    public string Ticket { get; } = ticket;
}
