/* ProcessPrng for Wine 8 (Debian 12), which lacks bcryptprimitives.dll:
 * Rust's std on Windows 10+ draws its random numbers from it
 * (rust-lang/rust#121337), so without it no Rust program starts there.
 * Test scaffolding only, installed into the throw-away WINEPREFIX of
 * tests/platforms/windows.sh; real Windows has the DLL. It forwards to
 * RtlGenRandom (advapi32's SystemFunction036), Wine's CSPRNG. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG n = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
