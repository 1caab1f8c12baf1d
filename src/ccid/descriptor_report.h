// One call that a transport or `ccidctl info` uses: raw class descriptor bytes in, fields,
// their meaning, the implausible values and the values to use instead out.
#pragma once

#include <expected>
#include <string>
#include <vector>

#include "ccid/descriptor.h"
#include "ccid/descriptor_checks.h"
#include "ccid/descriptor_meaning.h"

namespace ccidkit::ccid {

struct ParsedCcidDescriptor {
    CcidDescriptor fields;
    DescriptorMeaning meaning;
    std::vector<DescriptorWarning> warnings;
    EffectiveLimits effective;
};

std::expected<ParsedCcidDescriptor, DescriptorError> parse_ccid_descriptor(ByteView raw);

// describe_descriptor() lines, then one "warning: <field> = <value>: <reason>" line per
// warning, then the effective values.
std::vector<std::string> describe_parsed_descriptor(const ParsedCcidDescriptor& parsed);

}  // namespace ccidkit::ccid
