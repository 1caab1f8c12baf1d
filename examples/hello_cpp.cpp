// The same with the C++ API: RAII handles and std::expected results.
#include <cstdio>
#include "api/cxx/scard.h"

int main() {
    using namespace ccidkit;
    auto ctx = scard::Context::establish();
    if (!ctx) return 1;
    auto readers = ctx->readers();
    if (!readers || readers->empty()) return 2;
    auto card = ctx->connect(readers->front());
    if (!card) return 3;
    const Bytes select_mf{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00};
    auto response = card->transmit(select_mf);  // card disconnects when it goes out of scope
    if (!response || response->size() < 2) return 4;
    std::printf("%s: SW %02X%02X\n", readers->front().c_str(), (*response)[response->size() - 2], response->back());
    return 0;
}
