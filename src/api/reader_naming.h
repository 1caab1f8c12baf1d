// PC/SC reader names as pcsc-lite builds them for USB readers:
//   "Vendor Model [Interface] (Serial) RR SS"
// RR is the reader index (hex, two digits) and SS the slot (hex, two digits). pcsc-lite hands
// out the lowest free RR; we do the same but give a device back the RR it had before when
// that index is still free, so that names stay stable across a re-plug of the same device.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "api/backend.h"

namespace ccidkit::api {

// MAX_READERNAME (128) including the NUL, minus " RR SS".
inline constexpr std::size_t kMaxReaderBaseName = 128 - 7;

// "Vendor Model [Interface] (Serial)", with control characters replaced and truncated on a
// UTF-8 boundary to kMaxReaderBaseName bytes. Device strings are untrusted input.
std::string reader_base_name(const ReaderDescription& d);

// base + " RR SS".
std::string reader_full_name(std::string_view base, std::uint8_t index, std::uint8_t slot);

// Assigns the RR index per device. Slots of one device share the index (reference counted).
class ReaderIndexTable {
public:
    // nullopt when all 256 indexes are taken.
    std::optional<std::uint8_t> acquire(const std::string& device_id);
    void release(const std::string& device_id);

private:
    struct Active {
        std::uint8_t index = 0;
        unsigned users = 0;
    };
    static constexpr std::size_t kMaxRemembered = 512;
    bool in_use(std::uint8_t index) const;
    std::map<std::string, Active> active_;
    std::map<std::string, std::uint8_t> remembered_;  // last index of every device seen
};

}  // namespace ccidkit::api
