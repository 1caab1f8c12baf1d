/*
 * ccidkit: Windows-style scalar types used by the PC/SC API.
 *
 * Same definitions as pcsc-lite on Linux: DWORD and LONG follow the C "long", so they are
 * 64 bits wide on LP64 systems. Applications built against pcsc-lite's headers therefore run
 * unchanged against libccidkit / the drop-in libpcsclite.so.1.
 */
#ifndef __wintypes_h__
#define __wintypes_h__

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned char BYTE;
typedef unsigned char UCHAR;
typedef UCHAR *PUCHAR;
typedef unsigned short USHORT;
typedef unsigned short WORD;
typedef short BOOL;

typedef unsigned long ULONG;
typedef ULONG *PULONG;
typedef long LONG;
typedef unsigned long DWORD;
typedef DWORD *PDWORD;
typedef DWORD *LPDWORD;

typedef void *LPVOID;
typedef const void *LPCVOID;

typedef const char *LPCSTR;
typedef char *LPSTR;
/* Kept for old applications and drivers; the API only uses the narrow (UTF-8) forms. */
typedef LPSTR LPTSTR;
typedef LPCSTR LPCTSTR;

typedef const BYTE *LPCBYTE;
typedef BYTE *LPBYTE;

#ifdef __cplusplus
}
#endif

#endif /* __wintypes_h__ */
