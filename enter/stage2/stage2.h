// What the files of cnsenter-enter share.
#ifndef CNSENTER_STAGE2_H
#define CNSENTER_STAGE2_H

// die reports an error as "cnsenter: MESSAGE[: strerror(err)]", records it
// in the audit log when there is one, and exits with status 1.
void __attribute__((noreturn, format(printf, 2, 3))) die(int err, const char *fmt, ...);

// compile_seccomp reads the profile description at fd (see seccomp.c) and
// returns a memfd holding the BPF program, at offset 0.
int compile_seccomp(int fd);

#endif
