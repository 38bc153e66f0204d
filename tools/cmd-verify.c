/* not written yet */
#include "config.h"

#include "tool.h"

int
tool_cmd_verify(int argc, char **argv)
{
    tool_error("verify: not implemented yet");
    return TOOL_EXIT_ERROR;
}
