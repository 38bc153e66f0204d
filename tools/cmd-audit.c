/* not written yet */
#include "config.h"

#include "tool.h"

int
tool_cmd_audit(int argc, char **argv)
{
    tool_error("audit: not implemented yet");
    return TOOL_EXIT_ERROR;
}
