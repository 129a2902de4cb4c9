using SwarmLearning.Cli.Ctl;

namespace SwarmLearning.Cli.Tests.Ctl;

public sealed class SwciParserTests
{
    private static readonly (string Line, CtlStatement Expected)[] Cases =
    [
        ("CREATE CONTEXT test-mnist WITH IP sn-1", new CreateContext("test-mnist", "sn-1:30304")),
        ("create context c with ip 10.0.0.5 31000", new CreateContext("c", "10.0.0.5:31000")),
        ("CREATE CONTEXT c WITH SERVICE api.sn1.swarm:443", new CreateContext("c", "api.sn1.swarm:443")),
        ("SWITCH CONTEXT test-mnist", new SwitchContext("test-mnist")),
        ("GET CONTEXT INFO", new GetContextInfo(null)),
        ("get context info other", new GetContextInfo("other")),
        ("LIST CONTEXTS", new ListContexts()),
        ("GET CONTEXT VERSION", new GetContextVersion()),
        ("DELETE CONTEXT c", new DeleteContext("c")),
        ("CREATE CONTRACT swarm-mnist-contract", new CreateContract("swarm-mnist-contract")),
        ("GET CONTRACT INFO Mixed.Case", new GetContractStatus("Mixed.Case")),
        ("GET CONTRACT STATUS c", new GetContractStatus("c")),
        ("LIST CONTRACTS", new ListContracts()),
        ("RESET CONTRACT c", new ResetContract("c")),
        ("PERFDATA defaultbb.cqdb.sml.hpe", new GetPerfData("defaultbb.cqdb.sml.hpe")),
        ("CREATE TASK FROM taskdefs/swarm_mnist_task.yaml", new CreateTaskFrom("taskdefs/swarm_mnist_task.yaml")),
        ("create task from 'my tasks/t.yaml'", new CreateTaskFrom("my tasks/t.yaml")),
        ("FINALIZE TASK t", new FinalizeTask("t")),
        ("DELETE TASK t", new DeleteTask("t")),
        ("GET TASK INFO t", new GetTask("t", false)),
        ("GET TASK BODY t", new GetTask("t", true)),
        ("LIST TASKS", new ListTasks()),
        ("CREATE TASKRUNNER tr", new CreateTaskRunner("tr")),
        ("GET TASKRUNNER INFO tr", new GetTaskRunnerStatus("tr")),
        ("GET TASKRUNNER STATUS tr", new GetTaskRunnerStatus("tr")),
        ("GET TASKRUNNER PEER STATUS tr 0", new GetTaskRunnerPeers("tr", "0")),
        ("LIST TASKRUNNER PEERS tr", new GetTaskRunnerPeers("tr", null)),
        ("LIST TASKRUNNERS", new ListTaskRunners()),
        ("RESET TASKRUNNER defaulttaskbb.taskdb.sml.hpe", new ResetTaskRunner("defaulttaskbb.taskdb.sml.hpe")),
        ("ASSIGN TASK t TO tr WITH 2 PEERS", new AssignTask("t", "tr", 2, false, null)),
        ("assign task t to tr with all peers", new AssignTask("t", "tr", 0, true, null)),
        ("ASSIGN TASK t TO tr TARGET swop1", new AssignTask("t", "tr", 0, false, "swop1")),
        ("WAIT FOR TASKRUNNER tr", new WaitForTaskRunner("tr")),
        ("WAIT FOR TASKRUNNER tr 90", new WaitForTaskRunner("tr", TimeSpan.FromSeconds(90))),
        ("WAIT FOR IP sn-1", new WaitForAddress("sn-1", 30304, 360)),
        ("WAIT FOR IP 127.0.0.1 31000 3", new WaitForAddress("127.0.0.1", 31000, 3)),
        ("WAIT FOR SERVICE api.sn1:8443 10", new WaitForAddress("api.sn1", 8443, 10)),
        ("LIST NODES", new ListNodes()),
        ("SHOW BLOCKS", new ShowBlocks(-1, 20)),
        ("SHOW BLOCKS 5 10", new ShowBlocks(5, 10)),
        ("SHOW BLOCK 3", new ShowBlock(3)),
        ("VERIFY LEDGER", new VerifyLedger(null)),
        ("VERIFY LEDGER /var/lib/sn", new VerifyLedger("/var/lib/sn")),
        ("SLEEP 15", new Sleep(15)),
        ("EXIT", new Exit()),
        ("EXIT ON FAILURE ON", new ExitOnFailure(true)),
        ("exit on failure off", new ExitOnFailure(false)),
        ("EXIT ON FAILURE", new ExitOnFailure(true)),
        ("cd /platform/swarm/usr", new ChangeDirectory("/platform/swarm/usr")),
        ("ls", new ListDirectory(null)),
        ("PWD", new PrintDirectory()),
        ("HELP", new Help(null)),
        ("  help   assign  ", new Help("assign")),
    ];

    public static TheoryData<int> Indexes() => [.. Enumerable.Range(0, Cases.Length)];

    [Theory]
    [MemberData(nameof(Indexes))]
    public void Each_HPE_statement_parses_case_insensitively_keeping_names_as_written(int index) =>
        Assert.Equal(Cases[index].Expected, SwciParser.Parse(Cases[index].Line));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("# Create a swarm context")]
    [InlineData("   # indented comment")]
    public void Blank_and_comment_lines_are_no_statement(string line) => Assert.Null(SwciParser.Parse(line));

    [Theory]
    [InlineData("FROB THE SWARM", "swci-init:7: unknown statement 'FROB THE SWARM'; HELP lists the statements")]
    [InlineData("CREATE CONTRACT", "swci-init:7: 'CREATE CONTRACT' does not fit CREATE CONTRACT <name>")]
    [InlineData("CREATE CONTRACT a b", "swci-init:7: 'CREATE CONTRACT a b' does not fit CREATE CONTRACT <name>")]
    [InlineData("ASSIGN TASK t TO tr WITH 0 PEERS", "swci-init:7: <n> '0' must be a whole number from 1 to 100000; usage: ASSIGN TASK <task> TO <runner> WITH <n> PEERS")]
    [InlineData("ASSIGN TASK t TO tr", "swci-init:7: 'ASSIGN TASK t TO tr' does not fit ASSIGN TASK <task> TO <runner> WITH ALL PEERS or ASSIGN TASK <task> TO <runner> WITH <n> PEERS or ASSIGN TASK <task> TO <runner> TARGET <swop>")]
    [InlineData("SLEEP soon", "swci-init:7: <seconds> 'soon' must be a whole number from 0 to 86400; usage: SLEEP <seconds>")]
    [InlineData("EXIT ON FAILURE MAYBE", "swci-init:7: <mode> 'MAYBE' must be ON or OFF; usage: EXIT ON FAILURE [mode]")]
    [InlineData("CREATE CONTEXT c WITH IP h 70000", "swci-init:7: <port> '70000' must be a whole number from 1 to 65535; usage: CREATE CONTEXT <name> WITH IP <host> [port]")]
    [InlineData("CREATE TASK FROM \"unclosed.yaml", "swci-init:7: a quote (\") is not closed")]
    public void A_statement_that_does_not_parse_names_the_script_line_and_the_usage(string line, string message)
    {
        var e = Assert.Throws<SwciSyntaxException>(() => SwciParser.Parse(line, "swci-init", 7));
        Assert.Equal(message, e.Message);
        Assert.Equal(7, e.Line);
    }

    [Fact]
    public void Help_lists_every_statement_and_filters_by_its_first_words()
    {
        Assert.Contains(SwciParser.Statements(null), s => s.Syntax == "WAIT FOR TASKRUNNER <name> [seconds]");
        Assert.All(SwciParser.Statements("assign"), s => Assert.StartsWith("ASSIGN TASK", s.Syntax, StringComparison.Ordinal));
        Assert.Equal(3, SwciParser.Statements("assign").Count);
    }
}
