// The whole ESMTP protocol with no sockets, TLS or files in it: bytes in, reply bytes and
// events out. The reactor feeds it received bytes, sends what it queues (once per input
// batch, RFC 2920), and answers its requests: store this message, check these credentials,
// start TLS now. Everything here is tested by transcripts fed at every split point.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "mxring/engine/byte_buffer.h"
#include "mxring/engine/envelope.h"
#include "mxring/engine/session_config.h"
#include "mxring/parser/bdat.h"
#include "mxring/parser/data_scanner.h"
#include "mxring/parser/line_scanner.h"

namespace mxring::engine {

class Session;

// What a reply answers, for the metrics' count of replies by command and code.
enum class ReplyTo : std::uint8_t {
  greeting,  // 220, or 554 to an early talker
  helo,
  ehlo,
  mail,
  rcpt,
  data,            // 354, or a refusal of DATA itself
  bdat,            // a chunk taken (250) or a BDAT refused before the end of the message
  end_of_message,  // the transaction's outcome: 250 queued, or why not
  rset,
  noop,
  quit,
  vrfy,
  expn,
  help,
  starttls,
  auth,
  xclient,
  unknown,     // unrecognised commands and malformed lines
  connection,  // 421 for a timeout, a shutdown or too many errors
};
inline constexpr std::size_t kReplyToCount = static_cast<std::size_t>(ReplyTo::connection) + 1;

// The three-digit code a reply starts with (RFC 5321 §4.2).
unsigned reply_code(std::string_view reply);

// Why a session closed itself (the host knows the other reasons: the client left, TLS failed).
enum class CloseReason : std::uint8_t {
  none,
  quit,
  early_talker,
  too_many_errors,
  timeout,
  shutdown,
  rate_limited,
  improper_pipelining,
};

// What the session asks of its host synchronously. No call may block.
class SessionServices {
 public:
  virtual QueueId next_queue_id() = 0;
  virtual std::int64_t now_us() = 0;  // Unix time in microseconds
  // False while storage lags too far behind: DATA and BDAT then get 451 4.3.2 before the
  // client sends the content (DESIGN.md back-pressure).
  virtual bool accepting_messages() { return true; }
  // What message content may hold in memory (null: no bound). Content that finds no room is
  // drained, not kept, and refused at its end with 452 4.3.1.
  virtual ContentBudget* content_budget() { return nullptr; }
  // False while the file system this session's messages are stored on would keep less free
  // than its floor after `octets` more (0: a message of unknown size): MAIL then gets
  // 452 4.3.1 (RFC 1870 §6.1), before the client sends the message.
  virtual bool storage_has_room(const Session&, std::uint64_t /*octets*/) { return true; }
  // Per-client rate limits: false refuses this MAIL (or RCPT) with 450 4.7.1.
  virtual bool admit_message(const Session&) { return true; }
  virtual bool admit_recipient(const Session&) { return true; }
  // Observations for metrics and logs.
  virtual void replied(ReplyTo, unsigned /*code*/) {}
  // A transaction refused at the end of its data (a stored one goes to the host instead).
  virtual void message_refused(const Session&, const Envelope&, unsigned /*code*/) {}
  // The client access table refused this client (at the greeting, or at XCLIENT).
  virtual void client_refused(const Session&) {}

 protected:
  ~SessionServices() = default;
};

enum class StorageResult : std::uint8_t {
  stored,             // 250 2.0.0 Ok: queued as <id>
  temporary_failure,  // 451 4.3.0 (RFC 3463 §3.4: other or undefined mail system status)
  disk_full,          // 452 4.3.1 (RFC 3463 §3.4: mail system full)
  too_large,          // 552 5.3.4 (RFC 3463 §3.4: message too big for system), for good
};

enum class AuthResult : std::uint8_t {
  success,            // 235 2.7.0
  invalid,            // 535 5.7.8 (RFC 4954 §6)
  temporary_failure,  // 454 4.7.0 (RFC 4954 §6)
};

// An AUTH exchange decoded and waiting for the host to verify it (slow hashes must not run
// on the reactor thread, so the answer comes back through auth_done()).
struct AuthRequest {
  std::string mechanism;  // "PLAIN" or "LOGIN"
  std::string authzid;    // PLAIN's authorization identity; usually empty
  std::string user;
  std::string password;
};

class Session {
 public:
  // What the session waits for; the host acts on everything but `input`.
  enum class Wait : std::uint8_t {
    input,          // more bytes (or nothing: the session is idle)
    storage,        // take_message(), store it, then storage_done()
    auth,           // verify auth_request(), then auth_done()
    tls_handshake,  // send the queued 220, run the handshake, then tls_established()
    closed,         // send what is queued, then close the connection
  };

  // Which RFC 5321 §4.5.3.2 timeout applies to the wait for the client's next bytes.
  enum class Phase : std::uint8_t { greeting, command, data };

  Session(std::shared_ptr<const SessionContext> context, SessionServices& services,
          ConnectionInfo connection);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Queues the 220 banner. Bytes received before it are an early talker: 554 and close.
  void greet();

  // Feeds received bytes. `bytes` must have parser::kPadding readable octets after its end.
  // Whatever cannot be processed yet (a pending message, a full output queue) is kept, in
  // order, and processed when the session can go on.
  void receive(std::span<const char> bytes);

  // Reply bytes queued for the client. Send them, then say how many went out.
  std::string_view output() const { return output_.view(); }
  void consume_output(std::size_t sent);
  // Replies in output() made while the client was past SessionLimits::soft_error_limit errors,
  // since the last call: the host holds the output back that many error-sleeps (Postfix's
  // smtpd_error_sleep_time) before it sends it.
  std::uint32_t take_delayed_replies() { return std::exchange(delayed_replies_, 0); }

  Wait wait() const { return wait_; }
  Phase phase() const;
  // From DATA's 354, or a transaction's first BDAT, until its content is whole: the span the
  // host holds to a minimum data rate. A BDAT transaction's commands between its chunks are
  // in it too, so chunks minutes apart cannot hold a transaction open for ever.
  bool receiving_content() const;
  bool closed() const { return wait_ == Wait::closed; }
  // Input kept while the session waits: the host stops reading when this grows.
  std::size_t backlog() const { return backlog_.size() - backlog_offset_; }

  // Wait::storage: the message, once. Then storage_done() with the outcome.
  bool has_message() const { return message_ready_; }
  Message take_message();
  void storage_done(StorageResult result);

  // Wait::auth.
  const AuthRequest& auth_request() const { return *auth_; }
  void auth_done(AuthResult result);

  // Wait::tls_handshake (STARTTLS), or before greet() on an implicit-TLS listener.
  void tls_established(TlsInfo tls);

  // The host ends the session: 421 and close (RFC 5321 §3.8, §4.5.3.2).
  void timed_out();
  void shutting_down();
  // Instead of greet(): a client over its connection rate gets this reply and is closed.
  void refuse(std::string_view reply);

  // Between MAIL and the end of the message (a graceful shutdown lets these finish).
  bool in_transaction() const { return transaction_ != nullptr || message_ready_; }
  bool tls_active() const { return tls_ != nullptr; }
  const SessionContext& context() const { return *context_; }
  const ConnectionInfo& connection() const { return connection_; }
  bool authenticated() const { return !auth_identity_.empty(); }
  const std::string& auth_identity() const { return auth_identity_; }
  const std::string& helo() const { return helo_; }
  const TlsInfo* tls() const { return tls_.get(); }
  // Messages that reached the end of their data (stored or not), and how many were refused.
  std::uint32_t messages_accepted() const { return messages_; }
  std::uint32_t messages_refused() const { return refused_; }
  std::uint32_t errors() const { return errors_; }
  CloseReason close_reason() const { return close_reason_; }
  // The client access table refused the client: it was greeted with 554 and only QUIT works.
  bool access_denied() const { return access_denied_; }
  // What the last reply queued answered (the reactor times each answer by it).
  ReplyTo last_reply_to() const { return last_reply_to_; }
  // Octets this session owns now, its own object included (the idle target is <= 1 KiB).
  std::size_t footprint() const;

 private:
  struct Transaction;
  struct SaslExchange;
  enum class Mode : std::uint8_t { command, data, bdat, sasl };

  bool can_process() const;
  std::size_t process(std::span<const char> in);
  void resume();
  std::size_t take_command_bytes(std::span<const char> in);
  std::size_t take_data_bytes(std::span<const char> in);
  std::size_t take_bdat_bytes(std::span<const char> in);
  bool room_for_content(std::size_t more);
  bool room_for_recipient();
  bool charged_up_to(std::size_t footprint);
  bool room_for_declared(std::uint64_t octets);
  void drop_content();
  void on_line(std::string_view line, const parser::Line& framing);
  void on_command(std::string_view line);
  void dispatch(const parser::Command& command);
  void on_sasl_line(std::string_view line);

  void greet_or_refuse();
  void on_helo(const parser::Command& command, bool extended);
  void junk_command();
  void count_error();
  void replied(ReplyTo to, unsigned code);
  void on_mail(const parser::Command& command);
  void refuse_mail(std::string_view text);
  void need_mail();
  // 503 for a MAIL or RCPT out of sequence, else empty: what a malformed one is answered
  // before its syntax.
  std::string_view out_of_sequence(parser::Verb verb) const;
  void on_rcpt(const parser::Command& command);
  void on_data();
  void on_bdat(const parser::Command& command);
  void on_starttls();
  void on_auth(const parser::Command& command);
  void on_xclient(const parser::Command& command);

  void start_content();
  void finish_data();
  void finish_bdat_chunk();
  void content_complete();
  void message_complete();
  bool looping() const;
  void end_transaction();
  void reset_after_tls();

  void reply(std::string_view text);
  void reject(std::string_view text);  // a reply that counts toward the error limit
  void close_with(std::string_view text, CloseReason reason);
  // Counts the reply queued since output_ held `before` octets as answering `to`.
  void answered(ReplyTo to, std::size_t before);
  void refuse_message(std::string_view text);  // at the end of the data
  // The refusal content with these flags gets, or empty (`binary`: BODY=BINARYMIME).
  std::string_view content_refusal(const parser::DataFlags& flags, bool binary) const;

  std::shared_ptr<const SessionContext> context_;
  SessionServices& services_;
  ConnectionInfo connection_;
  std::string helo_;
  std::unique_ptr<TlsInfo> tls_;  // set once TLS is up; most sessions never have it
  std::string auth_identity_;

  parser::LineScanner lines_;
  parser::DataScanner data_;
  parser::BdatChunk bdat_chunk_{0};
  ByteBuffer partial_line_;  // a command line split across receives
  ByteBuffer backlog_;       // input received while the session waits
  std::size_t backlog_offset_ = 0;
  ByteBuffer output_;

  std::unique_ptr<Transaction> transaction_;  // between MAIL and the end of the message
  std::unique_ptr<SaslExchange> sasl_;
  std::unique_ptr<AuthRequest> auth_;
  QueueId pending_queue_id_;

  Wait wait_ = Wait::input;
  Mode mode_ = Mode::command;
  bool greeted_ = false;
  bool esmtp_ = false;
  bool access_denied_ = false;
  bool message_ready_ = false;
  bool bdat_last_ = false;  // the chunk being read ends the message
  // A MAIL refused for the server's sake or its size (452, 450, 552), its reply not sent yet:
  // the RCPT, DATA and BDAT a client pipelined behind it (RFC 2920 §3.1) are answered 503
  // without counting as errors, so a client retrying while storage is short is not cut off.
  bool mail_refused_unsent_ = false;
  bool bdat_refusal_excused_ = false;  // ... and the refused BDAT waiting for its chunk was one
  bool input_follows_ = false;         // more input is at hand behind the command line being run
  std::uint32_t delayed_replies_ = 0;  // made past soft_error_limit, not yet taken
  std::uint64_t bdat_chunk_size_ = 0;
  std::string_view bdat_refusal_;  // the reply owed once a refused BDAT's chunk is read
  std::uint32_t messages_ = 0;
  std::uint32_t refused_ = 0;
  std::uint32_t errors_ = 0;
  // Errors since the last message stored: what max_errors limits. Like Postfix, a message
  // received whole forgives what came before, so a connection carrying thousands of messages
  // is not cut off by an unknown recipient here and there over its life.
  std::uint32_t errors_since_message_ = 0;
  std::uint32_t junk_commands_ = 0;  // since the last message stored (junk_command())
  CloseReason close_reason_ = CloseReason::none;
  ReplyTo last_reply_to_ = ReplyTo::greeting;
};

}  // namespace mxring::engine
