/* not written yet */
#include "config.h"

#include "tool.h"

int
tool_cmd_list(int argc, char **argv)
{
    tool_error("list: not implemented yet");
    return TOOL_EXIT_ERROR;
}
