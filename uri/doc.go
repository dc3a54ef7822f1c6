// Package uri finds every host a message links to, the way SpamAssassin and
// rspamd do, and checks those hosts against URI block lists (SURBL, URIBL,
// Spamhaus DBL style) and the DNS tests of smtpf's uri-* options.
//
// Extraction is streaming and bounded: Extract reads a message once, line by
// line, following multiparts and attached messages to a fixed depth,
// decoding quoted-printable, base64 and legacy charsets as it goes. Plain
// text yields schemed URLs, schemeless www. hosts, bare domains with a known
// public suffix and the domains of mail addresses; HTML yields the URL
// attributes (href, src, action, background, ...), relative links resolved
// against <base href>, and the visible text. Hosts are normalised as a
// browser reads them (percent-encoding, userinfo, numeric IPv4 forms, IPv6
// literals, IDN, case, trailing dots, backslashes), paired with their
// registered domain, deduplicated and kept in order of appearance.
//
// Memory does not grow with the message: the walker holds one raw line
// buffer, one text buffer, one HTML buffer (grown only for a token that does
// not fit, up to 1 MiB) and one part's decoders, all reused from message to
// message; Limits caps the bytes read, the MIME depth and parts, and the
// hosts kept. An Extractor, which a program keeps for all its messages,
// caches parsed hosts, public suffix answers and Content-Type values across
// messages in caches of fixed size; Extract and its siblings are the same
// calls for one message, with nothing kept.
package uri
