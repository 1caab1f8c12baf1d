// Command APDUs for the simulated card's echo application (sim/card/echo_app.h), encoded per
// ISO/IEC 7816-4 5.1 (short form when Nc <= 255 and Ne <= 256, extended form otherwise).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "sim/card/echo_app.h"

namespace ccidkit::vmtest {

inline Bytes test_data(std::size_t n, std::uint8_t salt = 0) {
    Bytes d(n);
    for (std::size_t i = 0; i < n; ++i) d[i] = static_cast<std::uint8_t>(i * 13 + salt + (i >> 8));
    return d;
}

inline Bytes echo_apdu(ByteView data, std::size_t ne, std::uint8_t ins = sim::kInsEcho, std::uint8_t p2 = 0) {
    Bytes a{sim::kEchoCla, ins, 0x00, p2};
    if (data.size() <= 255 && ne <= 256) {
        if (!data.empty()) a.push_back(static_cast<std::uint8_t>(data.size()));
        a.insert(a.end(), data.begin(), data.end());
        if (ne > 0) a.push_back(static_cast<std::uint8_t>(ne & 0xFF));  // 256 -> 00
        return a;
    }
    a.push_back(0x00);  // extended length marker
    if (!data.empty()) {
        a.push_back(static_cast<std::uint8_t>(data.size() >> 8));
        a.push_back(static_cast<std::uint8_t>(data.size() & 0xFF));
        a.insert(a.end(), data.begin(), data.end());
    }
    if (ne > 0) {
        a.push_back(static_cast<std::uint8_t>((ne >> 8) & 0xFF));  // 65536 -> 00 00
        a.push_back(static_cast<std::uint8_t>(ne & 0xFF));
    }
    return a;
}

inline Bytes plus_9000(Bytes data) {
    data.push_back(0x90);
    data.push_back(0x00);
    return data;
}

}  // namespace ccidkit::vmtest
