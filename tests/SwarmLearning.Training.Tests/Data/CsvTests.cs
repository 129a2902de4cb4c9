using SwarmLearning.Training.Data;
using SwarmLearning.Training.Data.Csv;

namespace SwarmLearning.Training.Tests;

public sealed class CsvTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Write(string name, string text)
    {
        var path = _temp.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    private DataFormatException Refused(string text, string? labelColumn = null)
    {
        var path = Write("bad.csv", text);
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.LoadFile(path, labelColumn));
        Assert.StartsWith(path + ":", e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void A_good_file_gives_features_in_column_order_and_classes_in_name_order()
    {
        var path = Write("good.csv", "a,label,b\n1,dog,2.5\n-3e2,cat,0\n0.25,dog,7\n");
        var data = CsvDataset.LoadFile(path);
        Assert.Equal(SampleShape.Tabular(2), data.Shape);
        Assert.Equal([1f, 2.5f, -300f, 0f, 0.25f, 7f], data.Features);
        Assert.Equal(["cat", "dog"], data.ClassNames);
        Assert.Equal([1, 0, 1], data.Labels);
    }

    [Fact]
    public void Integer_labels_are_class_numbers()
    {
        var path = Write("ints.csv", "label,x\n2,1\n0,2\n");
        var data = CsvDataset.LoadFile(path);
        Assert.Equal(3, data.ClassCount);
        Assert.Equal([2, 0], data.Labels);
    }

    [Fact]
    public void Quoted_fields_CRLF_a_byte_order_mark_and_a_trailing_empty_line_are_read()
    {
        var text = "\uFEFFx,\"the label\",y\r\n\"1.5\",\"a, \"\"quoted\"\" class\",2\r\n3,\"multi\nline\",4\r\n5,plain,6\r\n\r\n";
        var path = Write("quoted.csv", text);
        var data = CsvDataset.LoadFile(path, "the label");
        Assert.Equal([1.5f, 2, 3, 4, 5, 6], data.Features);
        Assert.Equal(["a, \"quoted\" class", "multi\nline", "plain"], data.ClassNames);
        Assert.Equal([0, 1, 2], data.Labels);
    }

    [Fact]
    public void A_ragged_row_is_refused_with_its_line_number()
    {
        var e = Refused("x,label,y\n1,a,2\n3,\"b\nc\",4\n5,a\n");
        Assert.Equal(5, e.Line);
        Assert.Contains(":5:1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("2 field(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("header has 3 columns", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_numeric_value_is_refused_with_line_column_and_column_name()
    {
        var e = Refused("x,label,weight\n1,a,2\n3,b,1,5\n".Replace("1,5", "\"1,5\"", StringComparison.Ordinal));
        Assert.Contains(":3:5:", e.Message, StringComparison.Ordinal);
        Assert.Contains("column 'weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("'1,5' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NaN", "NaN")]
    [InlineData("-Infinity", "finite")]
    [InlineData("1e39", "range of a 32-bit float")]
    [InlineData(" ", "is empty")]
    public void Non_finite_empty_and_out_of_range_values_are_refused(string value, string expected)
    {
        var e = Refused($"label,x\na,1\nb,{value}\n");
        Assert.Contains(":3:3:", e.Message, StringComparison.Ordinal);
        Assert.Contains("column 'x'", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_test_label_the_training_file_lacks_is_refused()
    {
        var dir = _temp.File("data");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "train.csv"), "label,x\ncat,1\ndog,2\n");
        File.WriteAllText(Path.Combine(dir, "test.csv"), "label,x\ncat,1\n  zebra ,2\n");
        var e = Assert.Throws<DataFormatException>(() => CsvDataset.Load(dir));
        Assert.StartsWith(Path.Combine(dir, "test.csv") + ":3:1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("'zebra'", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not occur in", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_and_test_share_one_class_numbering()
    {
        var dir = _temp.File("data");
        SyntheticData.WriteCsv(dir, train: 9, test: 2, classes: ["b", "a", "c,d"]);
        var data = CsvDataset.Load(dir);
        Assert.Equal(["a", "b", "c,d"], data.Train.ClassNames);
        Assert.Equal(data.Train.ClassNames, data.Test.ClassNames);
        Assert.Equal([0, 2], data.Test.Labels);
    }

    [Theory]
    [InlineData("", "the file is empty")]
    [InlineData("\r\n\n", "the file is empty")]
    [InlineData("label,x\n", "no rows")]
    [InlineData("x,y\n1,2\n", "no column named 'label'")]
    [InlineData("label,x,x\na,1,2\n", "columns 2 and 3 are both named 'x'")]
    [InlineData("label\na\n", "at least one feature column")]
    [InlineData("label,,x\na,1,2\n", "column 2 of the header has no name")]
    [InlineData("label,x\na,1\n\nb,2\n", "an empty line between rows")]
    [InlineData("label,x\na\"b,1\n", "a double quote inside an unquoted field")]
    [InlineData("label,x\n\"a\"b,1\n", "text after the closing double quote")]
    [InlineData("label,x\n\"a,1\nb,2\n", "never closed")]
    [InlineData("label,x\na,1\na,2\n", "at least two classes")]
    public void Malformed_files_are_refused_with_the_reason(string text, string expected)
    {
        var e = Refused(text);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_label_column_can_be_named()
    {
        var path = Write("named.csv", "species,x\n1,0.5\n0,0.25\n");
        Assert.Equal([1, 0], CsvDataset.LoadFile(path, "species").Labels);
        Assert.Contains("no column named 'label'", Assert.Throws<DataFormatException>(() => CsvDataset.LoadFile(path)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Given_class_names_keep_the_numbering_when_a_class_is_absent()
    {
        var path = Write("share.csv", "label,x\nc,1\na,2\n");
        var data = CsvDataset.LoadFile(path, classNames: ["a", "b", "c"]);
        Assert.Equal(3, data.ClassCount);
        Assert.Equal([2, 0], data.Labels);
    }

    [Fact]
    public void Dataset_json_sets_the_label_column_and_the_classes()
    {
        var dir = _temp.File("manifest");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "train.csv"), "y,x\nb,1\nb,2\n");
        File.WriteAllText(Path.Combine(dir, "test.csv"), "y,x\nb,1\n");
        new DatasetManifest { LabelColumn = "y", ClassNames = ["a", "b"] }.WriteTo(dir);
        var data = CsvDataset.Load(dir);
        Assert.Equal([1, 1], data.Train.Labels);
        Assert.Equal(2, data.Test.ClassCount);
    }
}
