#include "sim/card/apdu_app.h"

#include "protocol/apdu.h"

namespace ccidkit::sim {

Bytes DemoCardApp::process(ByteView command) {
    if (command.empty()) return proto::make_response(proto::sw::kWrongLength);
    if (command[0] == kEchoCla) return echo_.process(command);
    return files_.process(command);
}

void DemoCardApp::reset() {
    echo_.reset();
    files_.reset();
}

}  // namespace ccidkit::sim
