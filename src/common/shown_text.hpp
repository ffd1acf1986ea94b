// What the upgrader shows: messages carry bytes from outside (a server's
// answer, a hook's output, a file name, a URL someone configured), and on
// their way to a terminal, the journal or a state file they must neither
// drive the terminal nor reveal a secret.
#pragma once

#include <string>
#include <string_view>

namespace upgrader {

/// `text` with every control character but newline and tab written as
/// \xNN (an escape sequence could clear or rewrite a terminal), and every
/// password in a URL's userinfo replaced: "https://ci:***@host/...".
std::string shownText(std::string_view text);

/// `text` in single quotes for an error message, control characters and
/// non-ASCII bytes written as \xNN and anything past 200 characters cut to
/// "...", so that a binary file cannot garble a terminal, the journal or
/// JSON output.
std::string quoteValue(std::string_view text);

/// `text` with the secret of every "scheme://user:secret@" replaced by
/// "***" (a userinfo without ':' is all secret: a token).
std::string redactCredentials(std::string_view text);

}  // namespace upgrader
