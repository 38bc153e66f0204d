/* not written yet */
#include "config.h"

#include "tool.h"

int
tool_cmd_explain(int argc, char **argv)
{
    tool_error("explain: not implemented yet");
    return TOOL_EXIT_ERROR;
}
