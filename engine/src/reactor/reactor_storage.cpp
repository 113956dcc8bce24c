// The reactor's side of storage: back-pressure from its ring to the writer, handing a
// message over, and taking the writer's answers back to the connections that wait for them.
#include "clock.h"
#include "reactor.h"
#include "reactor_connection.h"

namespace mxring::engine {

// Back-pressure (DESIGN.md), in two steps. Storage lagging by half the ring: DATA gets
// 451 4.3.2, so no new message piles up in memory. The ring three quarters full (messages
// already past DATA kept coming): sessions between transactions are not read at all. A
// message past DATA when the ring is full waits for room: it is in memory already, and a
// 451 for it would have the client send it all again.
bool Reactor::accepting_messages() {
  return storage_ == nullptr || unanswered_messages() < storage_->requests.capacity() / 2;
}

// Only what a listener stores on disk waits for disk space (not discard, not Kafka).
bool Reactor::storage_has_room(const Session& session, std::uint64_t octets) {
  if (space_ == nullptr) return true;
  const auto durability = session.context().config().durability;
  if (durability != Durability::fsync && durability != Durability::none) return true;
  return space_->room_for(octets);
}

bool Reactor::storage_nearly_full() const {
  return storage_ != nullptr && unanswered_messages() >= storage_->requests.capacity() * 3 / 4;
}

// Storage has room again: connections held between transactions read again.
void Reactor::resume_paused_for_storage() {
  if (paused_for_storage_.empty() || storage_nearly_full()) return;
  for (const auto slot : paused_for_storage_) {
    auto& c = *slots_[slot];
    if (!c.paused_for_storage || c.closing) continue;
    c.paused_for_storage = false;
    c.recv_paused = false;
    if (!c.recv_armed && !c.peer_closed) arm_recv(c);
    mark_dirty(c);
  }
  paused_for_storage_.clear();
}

void Reactor::hand_to_storage(Connection& c) {
  auto& session = *c.session;
  const auto durability = session.context().config().durability;
  if (durability == Durability::discard || storage_ == nullptr) {
    // The benchmark sink: acknowledged, kept nowhere, and the 250 says so.
    auto message = session.take_message();
    metrics_.messages_stored.add();
    metrics_.stored_by_durability[static_cast<std::size_t>(durability)].add();
    finish_transaction_note(note_transaction(session, message.envelope, message.content.size()),
                            StorageResult::stored, 0);
    session.storage_done(StorageResult::stored);
    return;
  }
  auto message = std::make_unique<Message>(session.take_message());
  const auto note = note_transaction(session, message->envelope, message->content.size());
  StoreRequest request{std::move(message),
                       c.slot,
                       c.generation,
                       durability == Durability::fsync,
                       durability == Durability::kafka,
                       monotonic_ns(),
                       note};
  if (storing_ < storage_->requests.capacity())
    stage_for_storage(std::move(request));
  else
    waiting_for_ring_.push_back(std::move(request));
  metrics_.storage_in_flight.set(unanswered_messages());
}

void Reactor::stage_for_storage(StoreRequest&& request) {
  storage_->requests.try_stage(request);  // cannot fail: storing_ < capacity
  ++storing_;
  staged_for_storage_ = true;  // published, and the writer woken, once per loop turn
}

void Reactor::publish_to_storage() {
  if (!staged_for_storage_) return;
  staged_for_storage_ = false;
  storage_->requests.publish();
  storage_->writer->notify();
}

// The writer's answers, after it wrote and synced a batch.
void Reactor::collect_storage_answers() {
  if (storage_ == nullptr) return;
  storage_->completions.pop_batch(SIZE_MAX, [this](StoreCompletion&& done) {
    --storing_;
    (done.result == StorageResult::stored ? metrics_.messages_stored : metrics_.messages_failed)
        .add();
    if (done.result == StorageResult::stored)
      metrics_.stored_by_durability[static_cast<std::size_t>(done.durability)].add();
    // From the end of the data to the 250 being queued: storage's share of the latency.
    const auto store_us = (monotonic_ns() - done.handed_at_ns) / 1000;
    metrics_.store_latency.record_us(static_cast<std::uint64_t>(store_us));
    finish_transaction_note(done.log_note, done.result, store_us);
    if (done.slot >= slots_.size() || !slots_[done.slot]) return;
    auto& c = *slots_[done.slot];
    // A client that left while its message was written: stored, but nobody to tell.
    if (c.generation != done.generation || c.closing || !c.session) return;
    c.session->storage_done(done.result);
    mark_dirty(c);
  });
  while (!waiting_for_ring_.empty() && storing_ < storage_->requests.capacity()) {
    stage_for_storage(std::move(waiting_for_ring_.front()));
    waiting_for_ring_.pop_front();
  }
  metrics_.storage_in_flight.set(unanswered_messages());
  resume_paused_for_storage();
}

}  // namespace mxring::engine
