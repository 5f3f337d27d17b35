// A program that replaces every policy slot of brine with its own type, as an engine team would:
// an opcode Reader, an Allowlist, a Writer, an MTD permutation Strategy and an MTD Hash, composed
// at compile time into one disarmer that seals, then a verifier and a restorer that trust the
// same strategy and hash. Each part counts what brine asked of it; the program fails unless every
// one was used, the sealed file verifies, a changed byte is caught, and the restored file is
// exactly what brine's own disarmer writes.
//
//   slots FIXTURE_DIR WORK_DIR     (FIXTURE_DIR: tests/fixtures/torch of the source tree)
#include <brine/brine.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace {

int failures = 0;
void expect(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures;
}
void expect_ok(const brine::error* e, const char* what) {
    if (e) std::printf("      %s at offset %llu (expected %s)\n", brine::to_string(e->code).data(),
                       static_cast<unsigned long long>(e->offset), e->detail ? e->detail : "");
    expect(e == nullptr, what);
}
template <class T>
const brine::error* error_of(const brine::result<T>& r) {
    return r ? nullptr : &r.err();
}

// 1. Reader: counts every opcode; can be told to refuse persistent ids.
struct counting_reader : brine::pickle::reader<> {
    static inline std::uint64_t opcodes = 0;
    static inline bool refuse_persistent_ids = false;
    using reader::reader;
    brine::status next(brine::pickle::token& t) {
        BRINE_TRY(reader::next(t));
        ++opcodes;
        if (refuse_persistent_ids && t.op == brine::pickle::opcode::BINPERSID)
            return brine::error{brine::errc::pickle_refused_opcode, t.offset, "plain pickles only"};
        return {};
    }
};

// 2. Allowlist: torch's weights-only rules, with every global it is asked about counted.
struct counting_allowlist {
    static inline std::uint64_t globals_asked = 0;
    static inline bool saw_rebuild_tensor = false;
    brine::policy::torch_weights_only rules;

    brine::policy::verdict allow_global(const brine::policy::qualified_name& name) const noexcept {
        ++globals_asked;
        if (name.module == "torch._utils" && name.name == "_rebuild_tensor_v2") saw_rebuild_tensor = true;
        return rules.allow_global(name);
    }
    brine::policy::verdict allow_call(const brine::pickle::graph& g, brine::pickle::node_id callable,
                                      brine::pickle::call_form form) const noexcept {
        return rules.allow_call(g, callable, form);
    }
    brine::policy::verdict allow_build(const brine::pickle::graph& g, brine::pickle::node_id target) const noexcept {
        return rules.allow_build(g, target);
    }
    brine::policy::verdict allow_setitem(const brine::pickle::graph& g, brine::pickle::node_id target) const noexcept {
        return rules.allow_setitem(g, target);
    }
    brine::policy::verdict allow_append(const brine::pickle::graph& g, brine::pickle::node_id target,
                                        brine::pickle::opcode op) const noexcept {
        return rules.allow_append(g, target, op);
    }
    brine::policy::verdict allow_persistent_id(const brine::pickle::graph& g, brine::pickle::node_id id,
                                               brine::pickle::opcode op) const noexcept {
        return rules.allow_persistent_id(g, id, op);
    }
};

// 3. Writer: the bundled torch zip writer, with the files and storages it wrote counted.
struct counting_writer {
    static constexpr std::string_view name = "torch zip, counted";
    static inline int files = 0;
    static inline std::size_t storages = 0;
    template <class Parts, class SeekableSink>
    brine::status write(const Parts& parts, SeekableSink& out) const {
        ++files;
        storages += parts.storage_count();
        return brine::writer::torch_zip{}.write(parts, out);
    }
};

// 4. Strategy: every storage byte XORed with a keyed mask, streaming.
class xor_mask : public brine::mtd::strategy_base {
public:
    static inline std::uint64_t bytes_masked = 0;
    bool select(std::string_view name) const noexcept { return name == "xor_mask"; }
    std::string_view name() const noexcept { return "xor_mask"; }
    brine::status prepare(const brine::mtd::strategy_context& context, brine::torch::storage_keys&) {
        mask_ = brine::mtd::derive_key(context, "xor_mask");
        return {};
    }
    bool changes_bytes() const noexcept { return true; }
    void transform_piece(std::size_t j, std::uint64_t at, brine::mutable_byte_view bytes) noexcept {
        for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] ^= static_cast<std::uint8_t>(mask_[(at + i) % 32] + j);
        bytes_masked += bytes.size();
    }

private:
    brine::mtd::digest mask_{};
};

// 5. Hash: SHA-256 under a label of our own, keyed by the seal's digest key.
class acme_sha256 : public brine::mtd::named_hash<acme_sha256> {
public:
    static constexpr std::string_view spelling = "acme_sha256";
    static inline std::uint64_t bytes_hashed = 0;
    void key(const brine::mtd::digest& k) noexcept {
        key_ = k;
        start();
    }
    void update(brine::byte_view bytes) noexcept {
        bytes_hashed += bytes.size();
        state_.update(bytes);
    }
    brine::mtd::digest finish() noexcept {
        const brine::mtd::digest out = state_.finish();
        start();
        return out;
    }

private:
    void start() noexcept {
        state_.update(brine::as_bytes(std::string_view("acme/v1")));
        state_.update(brine::byte_view(key_.data(), key_.size()));
    }
    brine::crypto::sha256 state_;
    brine::mtd::digest key_{};
};

using sealer = brine::mtd::basic_sealer<xor_mask, acme_sha256>;
using sealing_disarmer = brine::torch::basic_disarmer<counting_reader, counting_allowlist, counting_writer, sealer>;
using verifier = brine::mtd::basic_verifier<xor_mask, acme_sha256, counting_allowlist>;

std::vector<std::uint8_t> read_all(const std::string& path) {
    std::vector<std::uint8_t> out;
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::uint8_t buffer[65536];
        std::size_t got = 0;
        while ((got = std::fread(buffer, 1, sizeof buffer, f)) > 0) out.insert(out.end(), buffer, buffer + got);
        std::fclose(f);
    }
    return out;
}
bool write_all(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    return std::fclose(f) == 0 && ok;
}
bool exists(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f) std::fclose(f);
    return f != nullptr;
}

void run_on(const std::string& fixture, const std::string& work, const brine::mtd::secret_key& key) {
    std::printf("-- %s\n", fixture.c_str());
    const std::string clean = work + "/clean.pt", sealed = work + "/sealed.pt", restored = work + "/restored.pt";
    std::remove(clean.c_str()), std::remove(sealed.c_str()), std::remove(restored.c_str());

    brine::torch::disarmer reference;  // every slot bundled
    const auto reference_done = reference.disarm_file(fixture.c_str(), clean.c_str());
    expect_ok(error_of(reference_done), "brine's own disarmer reconstructs the fixture");
    if (!reference_done) return;

    counting_reader::opcodes = 0;
    counting_allowlist::globals_asked = 0;
    counting_allowlist::saw_rebuild_tensor = false;
    counting_writer::files = 0;
    counting_writer::storages = 0;
    xor_mask::bytes_masked = 0;
    acme_sha256::bytes_hashed = 0;
    sealing_disarmer sealing(counting_allowlist{}, counting_writer{}, sealer(key, brine::mtd::seal_options{}));
    const auto done = sealing.disarm_file(fixture.c_str(), sealed.c_str());
    expect_ok(error_of(done), "the composed disarmer seals");
    if (!done) return;
    expect(counting_reader::opcodes > 0, "the Reader read the pickle");
    expect(counting_allowlist::globals_asked > 0 && counting_allowlist::saw_rebuild_tensor,
           "the Allowlist judged the globals, _rebuild_tensor_v2 among them");
    expect(counting_writer::files == 1 && counting_writer::storages == reference_done->storages,
           "the Writer wrote the file and every storage");
    expect(xor_mask::bytes_masked == reference_done->storage_bytes, "the Strategy transformed every storage byte");
    expect(acme_sha256::bytes_hashed >= reference_done->storage_bytes, "the Hash digested every storage byte");
    const std::string manifest = sealing.mtd().summary().manifest_text;
    expect(manifest.find("\npermute xor_mask\n") != std::string::npos &&
               manifest.find("\nhash acme_sha256\n") != std::string::npos,
           "the manifest names the strategy and the hash");

    const verifier check(key);
    const auto report = check.verify(sealed.c_str());
    expect_ok(error_of(report), "the verifier that trusts them verifies");
    expect(report && report->intact(), "the seal is intact");
    const auto untrusted = brine::mtd::verify_file(sealed.c_str(), key);
    expect(!untrusted && untrusted.err().code == brine::errc::mtd_unsupported,
           "brine's bundled verifier refuses a seal it does not trust");

    const auto back = brine::mtd::restore_file<counting_allowlist, xor_mask, acme_sha256>(sealed.c_str(), restored.c_str(), key);
    expect_ok(error_of(back), "the restorer that trusts them restores");
    expect(read_all(restored) == read_all(clean), "the restored file is exactly brine's own reconstruction");

    // One changed byte in the middle of the file (storage data): named by verify, refused by restore.
    std::vector<std::uint8_t> bytes = read_all(sealed);
    bytes[bytes.size() / 2] ^= 0x01;
    const std::string changed = work + "/changed.pt";
    expect(write_all(changed, bytes), "a tampered copy written");
    const auto tampered = check.verify(changed.c_str());
    expect(tampered && !tampered->intact(), "verify reports the changed byte");
    std::remove(restored.c_str());
    const auto refused = brine::mtd::restore_file<counting_allowlist, xor_mask, acme_sha256>(changed.c_str(), restored.c_str(), key);
    expect(!refused && !exists(restored), "restore refuses the tampered copy and leaves no file");

    // The Reader refusing persistent ids stops the disarm at that opcode, with nothing written.
    counting_reader::refuse_persistent_ids = true;
    const std::string refused_out = work + "/refused.pt";
    sealing_disarmer strict(counting_allowlist{}, counting_writer{}, sealer(key, brine::mtd::seal_options{}));
    const auto stopped = strict.disarm_file(fixture.c_str(), refused_out.c_str());
    counting_reader::refuse_persistent_ids = false;
    expect(!stopped && stopped.err().code == brine::errc::pickle_refused_opcode && !exists(refused_out),
           "a Reader's refusal ends the disarm, and no file is left");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fputs("usage: slots FIXTURE_DIR WORK_DIR\n", stderr);
        return 2;
    }
    const std::string fixtures = argv[1], work = argv[2];
    brine::mtd::secret_key key;
    for (std::size_t i = 0; i < key.bytes.size(); ++i) key.bytes[i] = static_cast<std::uint8_t>(7 * i + 3);
    for (const char* name : {"mlp_state_dict.pt", "cnn_state_dict.pt", "shared_views.pt"}) run_on(fixtures + "/" + name, work, key);
    std::printf("%s\n", failures == 0 ? "every slot was the user's, and each did its part" : "FAILED");
    return failures == 0 ? 0 : 1;
}
