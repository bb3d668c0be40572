namespace JobRuntime;

/// <summary>Strictly increasing UUID version 7 values for this process.</summary>
internal static class MonotonicUuid
{
    private static readonly Lock Gate = new();
    private static long s_lastMs = -1;
    private static int s_counter;

    public static Guid Next(long unixMs)
    {
        long ms;
        int counter;
        lock (Gate)
        {
            if (unixMs > s_lastMs)
            {
                s_lastMs = unixMs;
                s_counter = Random.Shared.Next(0, 1 << 10); // random start, room to count up
            }
            else if (++s_counter >= 1 << 12)
            {
                s_lastMs++; // counter exhausted: borrow the next millisecond
                s_counter = 0;
            }

            ms = s_lastMs;
            counter = s_counter;
        }

        Span<byte> random = stackalloc byte[8];
        Random.Shared.NextBytes(random);
        return new Guid(
            (int)(ms >> 16),
            (short)(ms & 0xFFFF),
            (short)(0x7000 | counter),
            (byte)(0x80 | (random[0] & 0x3F)),
            random[1], random[2], random[3], random[4], random[5], random[6], random[7]);
    }
}
