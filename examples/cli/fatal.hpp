// SPDX-License-Identifier: MIT
//
// The ends the CLI cannot return from: running out of memory (an allocation the limits allowed
// but the machine, or a `ulimit -v`, does not) and SIGINT/SIGTERM/SIGHUP. Either way the process
// stops with exit 2 and a message, and no partial output stays behind (the temporary file of
// the output being written is removed). Only async-signal-safe calls from here on.
#pragma once

#include <brine/core/file.hpp>

#include <csignal>
#include <cstring>
#include <new>

#include <unistd.h>

namespace brine_cli {

inline void fatal_message(const char* text) noexcept {
    (void)!::write(2, text, std::strlen(text));
}

[[noreturn]] inline void out_of_memory() {
    brine::remove_unfinished_outputs();
    fatal_message("brine: error: out of memory: the input needs more memory than this process may use "
                  "(raise the memory limit, or refuse inputs this large); nothing was written\n");
    ::_exit(2);
}

inline void on_termination_signal(int) {
    brine::remove_unfinished_outputs();
    fatal_message("brine: interrupted; nothing was written\n");
    ::_exit(2);
}

inline void install_fatal_handlers() noexcept {
    std::set_new_handler(out_of_memory);
    struct sigaction action {};
    action.sa_handler = on_termination_signal;
    sigemptyset(&action.sa_mask);
    for (const int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal_number, &action, nullptr);
}

}  // namespace brine_cli
