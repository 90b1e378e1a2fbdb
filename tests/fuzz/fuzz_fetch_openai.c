/* libFuzzer: the OpenAI Chat Completions stream and body decoders. */
#include "tests/fuzz/fuzz_fetch_decode.h"

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	return fuzz_shape(&prov_openai, p, n);
}
