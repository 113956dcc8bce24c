// The session's input side: framing received bytes into command lines, DATA content and BDAT
// chunks, keeping order while it waits (storage, AUTH, a full output queue), and the events
// it exchanges with its host. Command handling is in session_commands.cpp.
#include "mxring/engine/session.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

#include "mxring/engine/client_access.h"
#include "mxring/parser/header_fields.h"
#include "mxring/parser/text.h"
#include "received_header.h"
#include "replies.h"
#include "session_state.h"

namespace mxring::engine {
namespace {

// Above this many queued reply octets the session stops taking input until the host sends
// them: a client that pipelines without reading cannot grow our memory (RFC 2920 §3.1 asks
// clients to read; we do not rely on it).
constexpr std::size_t kOutputHighWater = 16 * 1024;
// DATA is scanned in slices: each step grows the content by at most this much.
constexpr std::size_t kDataSlice = 256 * 1024;
// Content that is not kept (too big, or no room for it) is drained through less: under
// ContentBudget::kUncharged, so draining holds nothing of the budget.
constexpr std::size_t kDrainSlice = 16 * 1024;
// What content may grow past the size MAIL declared before its buffer doubles: the end of
// data's terminator and a few dot-stuffed lines (SIZE counts neither, RFC 1870 §4).
constexpr std::size_t kDeclaredSizeSlack = 1024;
// An idle session keeps at most this much output capacity (DESIGN.md: idle sessions are small).
constexpr std::size_t kIdleOutputCapacity = 512;

// A refusal of the content itself, not of the client's conduct: too big (its honest mistake),
// or no room or storage lagging (ours). It ends the transaction and counts as no error.
bool refuses_content(std::string_view text) {
  return text == replies::kMessageTooBig || text == replies::kSystemBusy ||
         text == replies::kStorageFull || text == replies::kMailLoop;
}

}  // namespace

unsigned reply_code(std::string_view reply) {
  if (reply.size() < 3) return 0;
  return static_cast<unsigned>(reply[0] - '0') * 100 + static_cast<unsigned>(reply[1] - '0') * 10 +
         static_cast<unsigned>(reply[2] - '0');
}

Session::Session(std::shared_ptr<const SessionContext> context, SessionServices& services,
                 ConnectionInfo connection)
    : context_(std::move(context)),
      services_(services),
      connection_(std::move(connection)),
      lines_(context_->limits().command.max_line + context_->limits().command.parameter_allowance),
      data_(parser::DataLimits{.max_line = context_->limits().max_data_line}) {}

Session::~Session() {
  if (auth_) explicit_bzero(auth_->password.data(), auth_->password.size());
}

void Session::greet() {
  if (greeted_ || wait_ == Wait::closed) return;
  greeted_ = true;
  const auto before = output_.size();
  greet_or_refuse();
  answered(ReplyTo::greeting, before);
}

// The 220 greeting, or, to a client the access table refuses (--client-access), its 554
// 5.7.1. RFC 5321 §3.1 then has the server wait for QUIT rather than close, answering other
// commands 503; each counts as an error, so --max-errors and the command timeout bound how
// long a refused client can stay.
void Session::greet_or_refuse() {
  const auto* access = context_->config().client_access.get();
  const auto* refusal = access ? access->refusal(connection_.client_octets) : nullptr;
  access_denied_ = refusal != nullptr;
  if (!refusal) return reply(context_->greeting());
  reply(*refusal);
  services_.client_refused(*this);
}

void Session::refuse(std::string_view text) {
  if (greeted_ || wait_ == Wait::closed) return;
  greeted_ = true;
  const auto before = output_.size();
  close_with(text, CloseReason::rate_limited);
  answered(ReplyTo::greeting, before);
}

void Session::receive(std::span<const char> bytes) {
  if (bytes.empty() || wait_ == Wait::closed || wait_ == Wait::tls_handshake) return;
  if (!greeted_) {
    // RFC 5321 §4.3.1 has the client wait for the greeting; one that talks first is a
    // spam engine or a protocol confusion (Postfix postscreen's pregreet test).
    const auto before = output_.size();
    close_with(replies::kEarlyTalker, CloseReason::early_talker);
    answered(ReplyTo::greeting, before);
    return;
  }
  if (backlog() == 0 && can_process()) {
    const auto used = process(bytes);
    bytes = bytes.subspan(std::min(used, bytes.size()));
    if (bytes.empty() || wait_ == Wait::closed || wait_ == Wait::tls_handshake) return;
  }
  if (backlog_offset_ > 0) {
    backlog_.consume_front(backlog_offset_);
    backlog_offset_ = 0;
  }
  backlog_.append_bytes(bytes);
}

bool Session::can_process() const {
  return wait_ == Wait::input && output_.size() < kOutputHighWater;
}

// Feeds `in` to whatever the current mode reads, until it is used up or the session must
// wait. Returns the octets used; input after a STARTTLS or a close counts as used (dropped).
std::size_t Session::process(std::span<const char> in) {
  std::size_t used = 0;
  while (used < in.size()) {
    if (wait_ == Wait::closed || wait_ == Wait::tls_handshake) return in.size();
    if (!can_process()) return used;
    const auto rest = in.subspan(used);
    switch (mode_) {
      case Mode::command:
      case Mode::sasl:
        used += take_command_bytes(rest);
        break;
      case Mode::data:
        used += take_data_bytes(rest);
        break;
      case Mode::bdat:
        used += take_bdat_bytes(rest);
        break;
    }
  }
  return used;
}

void Session::resume() {
  if (backlog_.empty() || !can_process()) return;
  const auto used = process(backlog_.span().subspan(backlog_offset_));
  backlog_offset_ += used;
  if (backlog_offset_ >= backlog_.size()) {
    backlog_.release();
    backlog_offset_ = 0;
  }
}

// Command lines: scanned in place when whole; a line split across receives is gathered in
// partial_line_ (at most the line cap, since the scanner gives up on longer lines).
std::size_t Session::take_command_bytes(std::span<const char> in) {
  if (partial_line_.empty()) {
    const auto line = lines_.next(in);
    switch (line.status) {
      case parser::LineStatus::complete:
        input_follows_ = in.size() > line.consumed;
        on_line({in.data(), line.length}, line);
        return line.consumed;
      case parser::LineStatus::need_more:
        partial_line_.append_bytes(in);
        return in.size();
      case parser::LineStatus::discard:
        return line.consumed;
    }
  }
  const auto held = partial_line_.size();
  const auto take = std::min<std::size_t>(in.size(), lines_.max_length());
  partial_line_.append_bytes(in.first(take));
  const auto line = lines_.next(partial_line_.span());
  switch (line.status) {
    case parser::LineStatus::complete: {
      // The line ends inside the octets just appended; the rest of them stay in `in`.
      const auto used_from_in = line.consumed - held;
      input_follows_ = in.size() > used_from_in;
      ByteBuffer whole = std::move(partial_line_);
      on_line({whole.data(), line.length}, line);
      return used_from_in;
    }
    case parser::LineStatus::need_more:
      return take;
    case parser::LineStatus::discard:
      partial_line_.release();
      return take;
  }
  return take;
}

std::size_t Session::take_data_bytes(std::span<const char> in) {
  auto& transaction = *transaction_;
  auto limit = transaction.overflowed ? kDrainSlice : kDataSlice;
  // The scan needs room for a whole slice; under the declared size, slices stop there, so the
  // buffer grows to that size and not to the next power of two.
  if (const auto room = transaction.room_before_expected(); room > 0) limit = std::min(limit, room);
  auto slice = in.first(std::min(in.size(), limit));
  if (!transaction.overflowed && !room_for_content(slice.size()))
    slice = slice.first(std::min(slice.size(), kDrainSlice));
  char* out = transaction.content.prepare(slice.size(), transaction.growth_bound(slice.size()));
  const auto scan = data_.scan(slice, out);
  if (!transaction.overflowed) {
    transaction.content.commit(scan.written);
    // Keep reading to the terminator, keep nothing (RFC 1870 §6: 552 after the data).
    if (transaction.body_size() > context_->limits().max_message_size) drop_content();
  }
  if (scan.ended) finish_data();
  return scan.consumed;
}

std::size_t Session::take_bdat_bytes(std::span<const char> in) {
  const auto part = bdat_chunk_.take(in);
  if (bdat_refusal_.empty() && !room_for_content(part.size()))
    bdat_refusal_ = replies::kStorageFull;  // the chunk is still read, then refused
  if (bdat_refusal_.empty()) {
    transaction_->bdat_content.scan(part);
    transaction_->content.append({part.data(), part.size()},
                                 transaction_->growth_bound(part.size()));
  }
  if (bdat_chunk_.complete()) finish_bdat_chunk();
  return part.size();
}

// Charges the server's ContentBudget for content about to grow by `more` octets. Without
// room, the transaction keeps nothing more: what it holds is freed, the rest of its content
// is drained, and its end is answered 452 4.3.1 (the client retries later).
bool Session::room_for_content(std::size_t more) {
  auto& transaction = *transaction_;
  if (charged_up_to(transaction.content.footprint_after(more, transaction.growth_bound(more)) +
                    transaction.envelope_bytes))
    return true;
  transaction.out_of_room = true;
  drop_content();
  return false;
}

// Charges the recipient just added, with the content, to the server's ContentBudget. RFC 5321
// §4.5.3.1.10: a server that cannot hold more recipients answers 452 and the client sends
// the rest in another transaction.
bool Session::room_for_recipient() {
  auto& transaction = *transaction_;
  const auto bytes =
      transaction.envelope_bytes + recipient_bytes(transaction.envelope.recipients.back());
  if (!charged_up_to(transaction.content.footprint() + bytes)) return false;
  transaction.envelope_bytes = bytes;
  return true;
}

// Whether the transaction's charge covers `footprint` octets (content and recipients),
// taking more of the ContentBudget when it must; false, nothing taken, without room.
bool Session::charged_up_to(std::size_t footprint) {
  auto& charge = transaction_->charge;
  if (!charge.behind(footprint)) return true;
  auto* budget = services_.content_budget();
  return budget == nullptr || charge.cover(*budget, footprint);
}

// RFC 1870 §6.1: a message of the size MAIL declares that the server cannot hold now is
// answered 452 4.3.1 before it is sent. Contents under ContentBudget::kUncharged never wait
// for the budget, so neither does their MAIL.
bool Session::room_for_declared(std::uint64_t octets) {
  const auto* budget = services_.content_budget();
  if (budget != nullptr && octets > ContentBudget::kUncharged && !budget->has_room(octets))
    return false;
  return services_.storage_has_room(*this, octets);
}

// The transaction keeps none of its content from here on: what it holds is freed, its charge
// given back, and the rest is drained through kDrainSlice to be refused at its end.
void Session::drop_content() {
  auto& transaction = *transaction_;
  transaction.overflowed = true;
  transaction.content.release();
  transaction.header_length = 0;
  transaction.charge.shrink_to(transaction.envelope_bytes);  // the recipients are still held
}

void Session::on_line(std::string_view line, const parser::Line& framing) {
  if (!framing.valid()) {
    const auto to = mode_ == Mode::sasl ? ReplyTo::auth : ReplyTo::unknown;
    if (mode_ == Mode::sasl) {
      sasl_.reset();
      mode_ = Mode::command;
    }
    // CVE-2023-51764 class: a line with a bare CR/LF is refused whole, never split or mended.
    const auto before = output_.size();
    reject(framing.too_long ? replies::kLineTooLong : replies::kBareLineEndInCommand);
    answered(to, before);
    return;
  }
  if (mode_ == Mode::sasl) {
    const auto before = output_.size();
    on_sasl_line(line);
    answered(ReplyTo::auth, before);
  } else {
    on_command(line);
  }
}

// DESIGN.md: content with a bare CR or LF is refused, never normalised (SMTP smuggling); so
// is a NUL (RFC 6152 §3), and with reject_long_lines a line over the limit. BINARYMIME
// content (RFC 3030 §3, BDAT only) is not lines of text, and none of this applies to it.
std::string_view Session::content_refusal(const parser::DataFlags& flags, bool binary) const {
  if (binary) return {};
  if (flags.bare_cr || flags.bare_lf) return replies::kBareLineEndInData;
  if (flags.nul) return replies::kNulInData;
  if (flags.long_line && context_->limits().reject_long_lines) return replies::kLongLineInData;
  return {};
}

void Session::finish_data() {
  mode_ = Mode::command;
  const auto flags = data_.flags();
  auto& transaction = *transaction_;
  auto refusal = content_refusal(flags, false);
  // Content not kept (too big, or no room) is refused as such, unless it was malformed too.
  if (transaction.overflowed && (refusal.empty() || refusal == replies::kLongLineInData))
    refusal = transaction.out_of_room ? replies::kStorageFull : replies::kMessageTooBig;
  if (!refusal.empty()) {
    refuse_message(refusal);
    end_transaction();
    return;
  }
  transaction.envelope.eight_bit = flags.eight_bit;
  transaction.envelope.long_lines = flags.long_line;
  content_complete();
}

void Session::finish_bdat_chunk() {
  mode_ = Mode::command;
  if (!bdat_refusal_.empty()) {
    // RFC 3030 §2: the chunk was read and dropped, never taken for commands. Past the size
    // limit the transaction is over (its content is incomplete); a sequence error changes
    // nothing, as it would for DATA.
    const auto refusal = bdat_refusal_;
    bdat_refusal_ = {};
    if (refuses_content(refusal)) {
      refuse_message(refusal);
      end_transaction();
    } else {
      const auto before = output_.size();
      if (bdat_refusal_excused_)
        reply(refusal);
      else
        reject(refusal);
      answered(ReplyTo::bdat, before);
    }
    return;
  }
  // Checked at each chunk's end, so a client learns at once; a CR ending this chunk may
  // still meet its LF at the start of the next.
  const auto& content = transaction_->bdat_content;
  const auto flags = bdat_last_ ? content.final_flags() : content.flags();
  auto& envelope = transaction_->envelope;
  const bool binary = envelope.body == parser::Body::binary_mime;
  if (const auto refusal = content_refusal(flags, binary); !refusal.empty()) {
    refuse_message(refusal);
    end_transaction();
    return;
  }
  if (bdat_last_) {
    envelope.eight_bit = flags.eight_bit;
    envelope.long_lines = flags.long_line && !binary;  // binary content has no lines
    content_complete();
    return;
  }
  char text[64];
  auto* end = std::to_chars(text, text + 24, bdat_chunk_size_).ptr;
  constexpr std::string_view kTail = " octets received\r\n";
  const auto before = output_.size();
  reply("250 2.0.0 ");
  reply({text, static_cast<std::size_t>(end - text)});
  reply(kTail);
  answered(ReplyTo::bdat, before);
}

void Session::start_content() {
  auto& transaction = *transaction_;
  auto& envelope = transaction.envelope;
  envelope.queue_id = services_.next_queue_id();
  envelope.received_at_us = services_.now_us();
  const ReceivedFields fields{
      .helo = helo_,
      .esmtp = esmtp_,
      .client_address = connection_.client_address,
      .host_name = context_->config().host_name,
      .tls_version = tls_ ? std::string_view(tls_->version) : std::string_view(),
      .tls_cipher = tls_ ? std::string_view(tls_->cipher) : std::string_view(),
      .authenticated = authenticated(),
      .smtputf8 = envelope.smtputf8,
      .queue_id = envelope.queue_id.view(),
      .single_recipient =
          envelope.recipients.size() == 1 ? envelope.recipients[0].address : std::string_view{},
      .unix_seconds = envelope.received_at_us / 1'000'000,
  };
  append_received_header(transaction.content, fields);
  transaction.header_length = transaction.content.size();
  // SIZE (RFC 1870 §4) counts the content as stored: a 1 MiB message then takes a little over
  // 1 MiB of buffer, not 2. Declaring more than is sent gains a client nothing: the buffer
  // still grows only as octets arrive.
  if (envelope.declared_size != 0)
    transaction.expected_size =
        transaction.header_length + envelope.declared_size + kDeclaredSizeSlack;
  static_assert(kDataSlice + parser::kPadding + (64 << 10) <= kContentOverhead);
  const std::size_t header_and_slice = transaction.header_length + kDataSlice;
  transaction.content_ceiling =
      header_and_slice +
      std::min<std::uint64_t>(context_->limits().max_message_size, SIZE_MAX - header_and_slice);
  transaction.content_started = true;
}

// The content is whole and well formed (DATA's end, or BDAT LAST): it goes to storage,
// unless it is looping.
void Session::content_complete() {
  if (!looping()) return message_complete();
  refuse_message(replies::kMailLoop);
  end_transaction();
}

// The client's Received fields (after the one this server wrote) reach the limit. Only the
// first 256 KiB are read, as Postfix reads no more header than header_size_limit (100 KiB):
// a message of millions of short header lines must not cost the reactor more than its
// receipt did.
bool Session::looping() const {
  constexpr std::size_t kHeaderRead = 256 << 10;
  const auto limit = context_->limits().max_received_headers;
  if (limit == 0) return false;
  const auto content =
      transaction_->content.view().substr(transaction_->header_length, kHeaderRead);
  return parser::count_received_fields(content, limit) >= limit;
}

void Session::message_complete() {
  pending_queue_id_ = transaction_->envelope.queue_id;
  message_ready_ = true;
  wait_ = Wait::storage;
  ++messages_;
}

Message Session::take_message() {
  Message message{.envelope = std::move(transaction_->envelope),
                  .content = std::move(transaction_->content),
                  .charge = std::move(transaction_->charge)};
  transaction_.reset();
  message_ready_ = false;
  return message;
}

void Session::storage_done(StorageResult result) {
  if (wait_ != Wait::storage) return;
  wait_ = Wait::input;
  message_ready_ = false;
  transaction_.reset();
  const auto before = output_.size();
  if (result != StorageResult::stored) ++refused_;
  switch (result) {
    case StorageResult::stored: {
      errors_since_message_ = 0;
      junk_commands_ = 0;
      // DESIGN.md durability contract: the text says what the 250 promises.
      const auto durability = context_->config().durability;
      reply(durability == Durability::discard ? "250 2.0.0 Ok: discarded as "
                                              : "250 2.0.0 Ok: queued as ");
      reply(pending_queue_id_.view());
      switch (durability) {
        case Durability::fsync:
          break;
        case Durability::none:
          reply(" (not synced to disk)");
          break;
        case Durability::discard:
          reply(" (sink mode)");
          break;
        case Durability::kafka:
          reply(" (acknowledged by Kafka)");
          break;
      }
      reply("\r\n");
      break;
    }
    case StorageResult::temporary_failure:
      reply(replies::kStorageFailed);
      break;
    case StorageResult::disk_full:
      reply(replies::kStorageFull);
      break;
    case StorageResult::too_large:
      reply(replies::kTooBigForStore);
      break;
  }
  answered(ReplyTo::end_of_message, before);
  resume();
}

void Session::auth_done(AuthResult result) {
  if (wait_ != Wait::auth || !auth_) return;
  wait_ = Wait::input;
  const auto before = output_.size();
  switch (result) {
    case AuthResult::success:
      auth_identity_ = auth_->user;
      reply(replies::kAuthOk);
      break;
    case AuthResult::invalid:
      reject(replies::kAuthInvalid);
      break;
    case AuthResult::temporary_failure:
      reply(replies::kAuthTemporary);
      break;
  }
  answered(ReplyTo::auth, before);
  explicit_bzero(auth_->password.data(), auth_->password.size());
  auth_.reset();
  resume();
}

void Session::tls_established(TlsInfo tls) {
  tls_ = std::make_unique<TlsInfo>(std::move(tls));
  if (!greeted_) return;  // implicit TLS (RFC 8314): the greeting follows the handshake
  if (wait_ != Wait::tls_handshake) return;
  reset_after_tls();
}

// RFC 3207 §4.2: after the handshake the session starts over; nothing learned in plaintext
// (HELO name, buffered commands) survives it.
void Session::reset_after_tls() {
  helo_.clear();
  esmtp_ = false;
  end_transaction();
  lines_.reset();
  partial_line_.release();
  backlog_.release();
  backlog_offset_ = 0;
  mode_ = Mode::command;
  wait_ = Wait::input;
}

void Session::timed_out() {
  if (wait_ == Wait::closed) return;
  const auto before = output_.size();
  close_with(context_->timeout_reply(), CloseReason::timeout);
  answered(ReplyTo::connection, before);
}

void Session::shutting_down() {
  if (wait_ == Wait::closed) return;
  const auto before = output_.size();
  close_with(context_->shutdown_reply(), CloseReason::shutdown);
  answered(ReplyTo::connection, before);
}

void Session::consume_output(std::size_t sent) {
  output_.consume_front(sent);
  if (output_.empty()) mail_refused_unsent_ = false;  // the client may have read the refusal
  if (output_.empty() && output_.footprint() > kIdleOutputCapacity + parser::kPadding)
    output_.release();
  resume();
}

Session::Phase Session::phase() const {
  if (!greeted_) return Phase::greeting;
  return mode_ == Mode::data || mode_ == Mode::bdat ? Phase::data : Phase::command;
}

bool Session::receiving_content() const {
  return transaction_ && transaction_->content_started && !message_ready_;
}

std::size_t Session::footprint() const {
  std::size_t bytes =
      sizeof(Session) + partial_line_.footprint() + backlog_.footprint() + output_.footprint();
  const auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };
  bytes += heap(helo_) + heap(auth_identity_) + heap(connection_.client_address) +
           heap(connection_.listener);
  if (tls_) bytes += sizeof(TlsInfo) + heap(tls_->version) + heap(tls_->cipher) + heap(tls_->sni);
  if (transaction_) {
    const auto& envelope = transaction_->envelope;
    bytes += sizeof(Transaction) + transaction_->content.footprint() + heap(envelope.mail_from) +
             envelope.recipients.capacity() * sizeof(Recipient);
  }
  if (sasl_) bytes += sizeof(SaslExchange);
  if (auth_) bytes += sizeof(AuthRequest);
  return bytes;
}

void Session::reply(std::string_view text) {
  output_.append(text);
}

void Session::reject(std::string_view text) {
  reply(text);
  count_error();
}

// Postfix's smtpd_junk_command_limit: NOOP, RSET, VRFY, EXPN and HELP past max_junk_commands
// count as errors, so a client cannot hold a connection open for ever by chattering (each
// command restarts the timeout). A stored message starts the count again.
void Session::junk_command() {
  if (++junk_commands_ > context_->limits().max_junk_commands) count_error();
}

void Session::count_error() {
  // Postfix's smtpd_hard_error_limit: a client that keeps failing is cut off.
  ++errors_;
  if (++errors_since_message_ >= context_->limits().max_errors) {
    close_with(context_->too_many_errors(), CloseReason::too_many_errors);
    replied(ReplyTo::connection, 421);
  }
}

// Every reply counted, for the host's metrics and, past Postfix's smtpd_soft_error_limit, as
// one to hold back: a client past it without delivering is probing (for recipients,
// passwords) or broken, and a connection then yields a probe a second instead of as many as
// it can pipeline.
void Session::replied(ReplyTo to, unsigned code) {
  services_.replied(to, code);
  const auto soft = context_->limits().soft_error_limit;
  if (soft > 0 && errors_since_message_ > soft) ++delayed_replies_;
}

void Session::close_with(std::string_view text, CloseReason reason) {
  reply(text);
  close_reason_ = reason;
  wait_ = Wait::closed;
  mode_ = Mode::command;
  transaction_.reset();
  message_ready_ = false;
  sasl_.reset();
  partial_line_.release();
  backlog_.release();
  backlog_offset_ = 0;
}

// The end of the data, refused: the transaction is over and the host hears why.
void Session::refuse_message(std::string_view text) {
  if (transaction_) services_.message_refused(*this, transaction_->envelope, reply_code(text));
  ++refused_;
  const auto before = output_.size();
  // Malformed content counts as an error; a refusal of the content as such does not.
  refuses_content(text) ? reply(text) : reject(text);
  answered(ReplyTo::end_of_message, before);
}

void Session::answered(ReplyTo to, std::size_t before) {
  if (output_.size() < before + 3) return;
  last_reply_to_ = to;
  replied(to, reply_code(output_.view().substr(before, 3)));
}

void Session::end_transaction() {
  transaction_.reset();
  bdat_refusal_ = {};
}

}  // namespace mxring::engine
